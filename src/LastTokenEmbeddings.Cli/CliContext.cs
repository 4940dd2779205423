using Spectre.Console;

namespace LastTokenEmbeddings.Cli;

/// <summary>Where a command writes, and whether those streams are interactive terminals.</summary>
internal sealed class CliContext(TextWriter stdout, TextWriter stderr, bool stdoutIsTerminal, bool stderrIsTerminal, Func<TextReader>? stdin = null)
{
    /// <summary>Standard input, for <c>--input -</c>.</summary>
    public Func<TextReader> In { get; } = stdin ?? (() => Console.In);

    /// <summary>Results (tables or JSON).</summary>
    public TextWriter Out { get; } = stdout;

    /// <summary>Notes, progress and errors.</summary>
    public TextWriter Error { get; } = stderr;

    /// <summary>Whether stdout is an interactive terminal (colours and the terminal width are used).</summary>
    public bool StdoutIsTerminal { get; } = stdoutIsTerminal;

    /// <summary>Whether stderr is an interactive terminal (progress bars are shown only then).</summary>
    public bool StderrIsTerminal { get; } = stderrIsTerminal;

    /// <summary>A Spectre console over stdout; plain text unless stdout is a terminal.</summary>
    public IAnsiConsole CreateOutConsole() => CreateConsole(Out, StdoutIsTerminal);

    /// <summary>A Spectre console over stderr; plain text unless stderr is a terminal.</summary>
    public IAnsiConsole CreateErrorConsole() => CreateConsole(Error, StderrIsTerminal);

    /// <summary>Writes a one-line note to stderr, prefixed with <c>lte: </c>.</summary>
    public void Note(string message) => Error.WriteLine("lte: " + OneLine(message));

    /// <summary>Collapses line breaks so that a message stays on one line.</summary>
    public static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static IAnsiConsole CreateConsole(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
            console.Profile.Width = 160;
        return console;
    }
}
