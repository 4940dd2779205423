using System.Text.Json;
using LastTokenEmbeddings.Cli;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary>The outcome of one in-process <c>lte</c> run.</summary>
public sealed record LteRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>stdout parsed as one JSON document; fails the test with stderr when it is not.</summary>
    public JsonElement Json()
    {
        Assert.That(ExitCode, Is.EqualTo(0), $"exit code; stderr: {Stderr}");
        using var document = JsonDocument.Parse(Stdout);
        return document.RootElement.Clone();
    }

    /// <summary>stderr split into non-empty lines.</summary>
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Runs <c>lte</c> in process with captured output.</summary>
public static class Lte
{
    /// <summary>Runs the command line as given (no --model added).</summary>
    public static async Task<LteRun> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await LteApp.RunAsync(args, stdout, stderr);
        return new LteRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the command line with <c>--model</c> set to the fixture, right after the command name.</summary>
    public static Task<LteRun> OnFixture(string command, params string[] args) =>
        Run([command, "--model", TestPaths.FixtureDirectory, .. args]);

    /// <summary>Runs with stderr treated as an interactive terminal (progress bars on).</summary>
    internal static async Task<LteRun> RunWithTerminalStderr(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await LteApp.RunAsync(args, new CliContext(stdout, stderr, stdoutIsTerminal: false, stderrIsTerminal: true));
        return new LteRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The reference texts 0..n-1.</summary>
    public static string[] ReferenceTexts() => Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();

    /// <summary>The CLI prompt arguments reproducing a reference.json mode.</summary>
    public static string[] PromptArgs(string mode) => mode switch
    {
        "raw" => ["--prompt", "raw"],
        "chat" => ["--prompt", "mistral-instruct"],
        "e5" => ["--prompt", "e5-instruct", "--instruction", ReferenceData.Root.GetProperty("e5_task").GetString()!, "--role", "query"],
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };
}
