namespace LastTokenEmbeddings.Cli;

/// <summary>A problem with how the command line was written (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A problem found while running a command, e.g. an unreadable input file (exit code 1).</summary>
internal sealed class CliRuntimeException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The process exit codes of <c>lte</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command succeeded.</summary>
    public const int Success = 0;

    /// <summary>The command failed while running: missing or broken checkpoint, unreadable input, ...</summary>
    public const int RuntimeError = 1;

    /// <summary>The command line is wrong: unknown command or option, bad option value, missing argument.</summary>
    public const int UsageError = 2;

    /// <summary>The command was cancelled (Ctrl+C).</summary>
    public const int Cancelled = 130;
}
