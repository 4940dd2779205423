using LastTokenEmbeddings.Embeddings;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Output;

/// <summary>
/// A progress bar on stderr for long embedding runs: shown only when more than <see cref="Threshold"/> texts are
/// embedded and stderr is a terminal. Nothing is ever written to stdout.
/// </summary>
internal static class EmbeddingProgressDisplay
{
    public const int Threshold = 8;

    /// <summary>Runs <paramref name="work"/>, handing it a tracker that feeds the bar (or does nothing).</summary>
    public static async Task<T> RunAsync<T>(CliContext context, string description, int totalTexts, Func<ProgressTracker, Task<T>> work)
    {
        if (totalTexts <= Threshold || !context.StderrIsTerminal)
            return await work(new ProgressTracker(null)).ConfigureAwait(false);

        var console = context.CreateErrorConsole();
        return await console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: totalTexts);
                var result = await work(new ProgressTracker(task)).ConfigureAwait(false);
                task.Value = totalTexts;
                return result;
            }).ConfigureAwait(false);
    }
}

/// <summary>Maps the progress of successive embedding calls onto one bar.</summary>
internal sealed class ProgressTracker(ProgressTask? task)
{
    private int offset;

    /// <summary>A progress receiver for the next call, which embeds <paramref name="count"/> texts; null when no bar is shown.</summary>
    public IProgress<EmbeddingProgress>? Next(int count)
    {
        if (task is null)
            return null;
        var start = offset;
        offset += count;
        return new Receiver(p => task.Value = start + p.CompletedTexts);
    }

    private sealed class Receiver(Action<EmbeddingProgress> report) : IProgress<EmbeddingProgress>
    {
        public void Report(EmbeddingProgress value) => report(value);
    }
}
