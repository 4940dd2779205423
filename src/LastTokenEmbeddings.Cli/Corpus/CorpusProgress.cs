using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// Progress of an embed-corpus run on stderr: a Spectre progress bar (share of the input read, records/s, time left)
/// when stderr is a terminal, otherwise one plain line every <c>interval</c>. Progress is measured in the reader's
/// units (bytes of a text input, rows of a Parquet input), so the ETA holds for every shard: each reads the whole input.
/// </summary>
internal sealed class CorpusProgress
{
    private readonly CliContext context;
    private readonly TimeSpan interval;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private ProgressTask? bar;
    private long totalUnits;
    private long startUnits;
    private long unitsNow;
    private long recordsThisRun;
    private long embedded;
    private long rejected;
    private TimeSpan lastLine;
    private TimeSpan lastBarText;

    public CorpusProgress(CliContext context, TimeSpan interval)
    {
        this.context = context;
        this.interval = interval;
    }

    /// <summary>Records processed by this run (embedded or rejected).</summary>
    public long RecordsThisRun => recordsThisRun;

    public TimeSpan Elapsed => clock.Elapsed;

    public double RecordsPerSecond => clock.Elapsed.TotalSeconds > 0 ? recordsThisRun / clock.Elapsed.TotalSeconds : 0;

    /// <summary>Runs <paramref name="work"/> under a progress bar (terminal) or with plain progress lines.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        if (!context.StderrIsTerminal)
            return await work().ConfigureAwait(false);
        return await context.CreateErrorConsole().Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                bar = ctx.AddTask("Embedding", autoStart: true, maxValue: Math.Max(1, totalUnits));
                bar.Value = startUnits;
                try
                {
                    return await work().ConfigureAwait(false);
                }
                finally
                {
                    bar = null;
                }
            }).ConfigureAwait(false);
    }

    /// <summary>Sets the input size and where this run starts in it.</summary>
    public void Start(long total, long start, long alreadyEmbedded, long alreadyRejected)
    {
        totalUnits = total;
        startUnits = unitsNow = start;
        embedded = alreadyEmbedded;
        rejected = alreadyRejected;
        if (bar is { } task)
        {
            task.MaxValue = Math.Max(1, total);
            task.Value = start;
        }
        clock.Restart();
    }

    /// <summary>One record processed; cheap enough to call for every record.</summary>
    public void Record(long units, bool wasEmbedded)
    {
        unitsNow = units;
        recordsThisRun++;
        if (wasEmbedded)
            embedded++;
        else
            rejected++;
        var now = clock.Elapsed;
        if (bar is { } task)
        {
            task.Value = units;
            if (now - lastBarText >= TimeSpan.FromMilliseconds(250))
            {
                lastBarText = now;
                task.Description = string.Create(CultureInfo.InvariantCulture, $"Embedding {embedded:N0} records · {RecordsPerSecond:N0}/s{(rejected > 0 ? $" · {rejected:N0} rejected" : "")}");
            }
        }
        else if (now - lastLine >= interval)
        {
            lastLine = now;
            context.Note("embed-corpus: " + Line());
        }
    }

    /// <summary>"45.0% of input, 2,000 embedded, 1 rejected, 812 records/s, ETA 0:00:03".</summary>
    public string Line()
    {
        var share = totalUnits > 0 ? 100.0 * unitsNow / totalUnits : 100.0;
        var rate = clock.Elapsed.TotalSeconds > 0 ? (unitsNow - startUnits) / clock.Elapsed.TotalSeconds : 0;
        var eta = rate > 0 ? TimeSpan.FromSeconds((totalUnits - unitsNow) / rate).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "unknown";
        return string.Create(CultureInfo.InvariantCulture,
            $"{share:F1}% of input, {embedded:N0} embedded, {rejected:N0} rejected, {RecordsPerSecond:N0} records/s, ETA {eta}");
    }
}
