using LastTokenEmbeddings.Hub;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli;

/// <summary>Finds the model directory: <c>--model</c> (a directory or a hub id), or else the tiny test model vendored in the repository.</summary>
internal static class ModelLocator
{
    /// <summary>The vendored fixture, relative to the repository root.</summary>
    public static readonly string FixtureRelativePath = Path.Combine("tests", "fixtures", "tiny-mistral");

    /// <summary>
    /// The full path of <paramref name="model"/> when it is an existing directory; the snapshot directory in the
    /// Hugging Face cache when it is a hub id <c>ORG/NAME</c> (downloading what is missing, with a progress bar on a
    /// terminal); otherwise, when absent, the first <c>tests/fixtures/tiny-mistral</c> found walking up from the
    /// executable's directory, then from the current directory.
    /// </summary>
    /// <param name="model">The <c>--model</c> value, or <see langword="null"/>.</param>
    /// <param name="context">Receives a note when the fixture is used, and the download progress.</param>
    /// <param name="revision">The <c>--revision</c> value, for a hub id.</param>
    /// <exception cref="CliRuntimeException">The directory does not exist and is not a hub id.</exception>
    /// <exception cref="UsageException"><paramref name="model"/> is absent and no fixture was found, or <paramref name="revision"/> is given for a directory.</exception>
    /// <exception cref="HubException">The hub id cannot be resolved.</exception>
    public static string Resolve(string? model, CliContext context, string? revision = null)
    {
        if (model is not null)
        {
            if (string.IsNullOrWhiteSpace(model))
                throw new UsageException("--model needs a directory or a hub id.");
            if (HuggingFaceHub.IsHubModelReference(model))
                return ResolveHubModel(model, revision, context);
            if (revision is not null)
                throw new UsageException($"--revision applies to hub ids, but '{model}' is a path.");
            var full = Path.GetFullPath(model);
            if (File.Exists(full))
                throw new CliRuntimeException($"--model must be a directory, but '{full}' is a file.");
            if (!Directory.Exists(full))
                throw new CliRuntimeException($"model directory not found: '{full}' (and '{model}' is not a hub id ORG/NAME).");
            return full;
        }
        if (revision is not null)
            throw new UsageException("--revision needs --model ORG/NAME.");

        var found = FindFixture(AppContext.BaseDirectory) ?? FindFixture(Directory.GetCurrentDirectory());
        if (found is null)
            throw new UsageException(
                $"no --model given and the default test model ({FixtureRelativePath.Replace('\\', '/')}) was not found above the tool or the current directory; pass --model DIR or --model ORG/NAME.");
        context.Note($"no --model given; using the tiny random-weight test model at '{found}'.");
        return found;
    }

    /// <summary>The fixture directory above <paramref name="start"/>, or <see langword="null"/>.</summary>
    public static string? FindFixture(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FixtureRelativePath);
            if (File.Exists(Path.Combine(candidate, "config.json")))
                return candidate;
        }
        return null;
    }

    private static string ResolveHubModel(string id, string? revision, CliContext context)
    {
        var options = HubOptions.FromEnvironment();
        if (revision is not null)
        {
            if (string.IsNullOrWhiteSpace(revision))
                throw new UsageException("--revision must not be empty.");
            options = options with { Revision = revision };
        }
        options = options with { Logger = new NoteLogger(context) };
        if (!context.StderrIsTerminal)
            return HuggingFaceHub.ResolveModelDirectoryAsync(id, options).GetAwaiter().GetResult();

        return context.CreateErrorConsole().Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new SynchronousProgress<HubDownloadProgress>(p =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(p.FileName, out var task))
                            tasks[p.FileName] = task = ctx.AddTask(Markup.Escape(p.FileName), maxValue: Math.Max(p.TotalBytes, 1));
                        task.Value = p.BytesDownloaded;
                        if (p.IsComplete)
                            task.Value = task.MaxValue;
                    }
                });
                return HuggingFaceHub.ResolveModelDirectoryAsync(id, options, progress).GetAwaiter().GetResult();
            });
    }

    /// <summary>Reports on the calling thread (the download's), unlike <see cref="Progress{T}"/>.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Hub warnings (such as "offline: using the cached snapshot") as one-line notes on stderr.</summary>
    private sealed class NoteLogger(CliContext context) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                context.Note(formatter(state, exception));
        }
    }
}
