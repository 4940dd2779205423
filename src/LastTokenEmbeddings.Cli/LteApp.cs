using System.CommandLine;
using System.CommandLine.Invocation;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Cli.Commands;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Cli;

/// <summary>
/// The <c>lte</c> command line, runnable in process: results go to <c>stdout</c>, notes, progress and errors to
/// <c>stderr</c>, and the exit code is returned (see <see cref="ExitCodes"/>).
/// </summary>
public static class LteApp
{
    /// <summary>Runs one <c>lte</c> command line.</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="stdout">Receives the results.</param>
    /// <param name="stderr">Receives notes and errors (and progress bars when it is the terminal).</param>
    /// <param name="cancellationToken">Stops a running command between batches.</param>
    /// <returns>The exit code: 0 success, 1 runtime error, 2 usage error, 130 cancelled.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var stdoutIsTerminal = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        var stderrIsTerminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
        return RunAsync(args, new CliContext(stdout, stderr, stdoutIsTerminal, stderrIsTerminal), cancellationToken);
    }

    /// <summary>Runs one command line with an explicit context (tests use it to pretend streams are terminals).</summary>
    internal static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "On errors, also print the exception's stack trace.",
            Recursive = true,
        };
        var root = new RootCommand("lte: text embeddings from decoder LLMs (Mistral, Qwen2, Qwen3, Llama) with LastTokenEmbeddings. --model takes a directory or a Hugging Face id; without it, the tiny test model in tests/fixtures/tiny-mistral is used.");
        root.Options.Add(verbose);
        root.Subcommands.Add(CompareCommand.Create(context));
        root.Subcommands.Add(EmbedCommand.Create(context));
        root.Subcommands.Add(EmbedCorpusCommand.Create(context));
        root.Subcommands.Add(TokenizeCommand.Create(context));
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(RerankCommand.Create(context));

        // Response files are off: a text such as "@user hello" must stay a text.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parseResult.Action is ParseErrorAction && parseResult.Errors.Count > 0)
        {
            var command = parseResult.CommandResult.Command;
            var path = command is RootCommand ? "lte" : "lte " + command.Name;
            context.Error.WriteLine($"lte: error: {CliContext.OneLine(parseResult.Errors[0].Message)} (see '{path} --help')");
            return ExitCodes.UsageError;
        }

        var invocation = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await parseResult.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return Report(e, context, parseResult.GetValue(verbose), cancellationToken);
        }
    }

    private static int Report(Exception exception, CliContext context, bool verbose, CancellationToken cancellationToken)
    {
        var e = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        var (code, message) = e switch
        {
            OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.Cancelled, "cancelled."),
            UsageException => (ExitCodes.UsageError, e.Message),
            CliRuntimeException or CheckpointException or Hub.HubException => (ExitCodes.RuntimeError, e.Message),
            InputTooLongException => (ExitCodes.RuntimeError, CleanArgumentMessage((ArgumentException)e)),
            ArgumentException argument => (ExitCodes.UsageError, CleanArgumentMessage(argument)),
            InvalidOperationException or IOException or UnauthorizedAccessException or NotSupportedException => (ExitCodes.RuntimeError, e.Message),
            _ => (ExitCodes.RuntimeError, $"unexpected {e.GetType().Name}: {e.Message}"),
        };
        context.Error.WriteLine("lte: error: " + CliContext.OneLine(message));
        if (verbose)
            context.Error.WriteLine(exception.ToString());
        return code;
    }

    /// <summary>An ArgumentException's message without the "(Parameter 'x')" and "Actual value was" lines .NET appends.</summary>
    private static string CleanArgumentMessage(ArgumentException e)
    {
        var message = e.Message;
        if (e.ParamName is { } name)
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        if (e is ArgumentOutOfRangeException { ActualValue: not null })
        {
            var at = message.IndexOf("\nActual value was", StringComparison.Ordinal);
            if (at < 0) at = message.IndexOf("\r\nActual value was", StringComparison.Ordinal);
            if (at >= 0) message = message[..at];
        }
        return message;
    }
}
