using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>Everything an embed-corpus run needs besides the model.</summary>
/// <param name="Input">The input file and how to read it.</param>
/// <param name="OutputDirectory">The output directory (absolute).</param>
/// <param name="OutputFormat"><c>parquet</c> or <c>jsonl</c>.</param>
/// <param name="Shard">Which records this worker embeds.</param>
/// <param name="ChunkRecords">Records (embedded or rejected) per committed chunk.</param>
/// <param name="ChunkTime">Longest time a chunk stays open before it is committed.</param>
/// <param name="Truncate">Truncate over-long texts (otherwise they are bad records).</param>
/// <param name="FailOnBadRecord">Stop at the first bad record instead of writing it to the rejects file.</param>
/// <param name="Restart">Discard this shard's existing results.</param>
/// <param name="Call">Role, instruction and truncation of every text.</param>
/// <param name="Stream">Windowing of the embedding stream.</param>
/// <param name="Settings">The command-line settings that shape results (role, instruction, special tokens, ...), for the fingerprint.</param>
internal sealed record CorpusJobSettings(
    CorpusInputSettings Input, string OutputDirectory, string OutputFormat, ShardSpec Shard, int ChunkRecords, TimeSpan ChunkTime,
    bool Truncate, bool FailOnBadRecord, bool Restart, EmbeddingCallOptions Call, EmbeddingStreamOptions Stream,
    IReadOnlyDictionary<string, string> Settings);

/// <summary>What a run did.</summary>
internal sealed record CorpusSummary(
    string OutputDirectory, string ManifestPath, string? RejectsPath, int Chunks, long Embedded, long Tokens, long Rejected,
    long RecordsThisRun, long TokensThisRun, TimeSpan Elapsed, bool Complete, bool WasAlreadyComplete, bool Resumed);

/// <summary>
/// Runs one shard of an embed-corpus job: reads the input from the manifest's position, embeds this shard's records
/// through <see cref="EmbeddingStreams"/>, and commits them in numbered chunks (chunk file, then rejects, then manifest,
/// each written atomically), so a run stopped at any point resumes without duplicating or skipping a record.
/// </summary>
internal sealed class CorpusJob
{
    /// <summary>
    /// Test hook: with this environment variable set to K, the run stops making progress just before it records chunk K
    /// in the manifest (that chunk's file is written and its rejects appended), until cancelled or killed. Tests use it
    /// to kill a run at a known, uncommitted state without racing it.
    /// </summary>
    internal const string HoldBeforeCommitVariable = "LTE_CORPUS_TEST_HOLD_BEFORE_COMMIT";

    /// <summary>A chunk is committed at the latest when its vectors take this much memory (64 MiB).</summary>
    internal const long MaxChunkVectorBytes = 64L << 20;

    private readonly CorpusJobSettings job;
    private readonly int chunkRecords;
    private readonly EmbeddingModel model;
    private readonly CorpusProgress progress;
    private readonly CliContext context;
    private readonly IChunkWriter writer;
    private int? holdBeforeChunk;

    private CorpusManifest manifest = new();
    private readonly List<OutputRow> rows = [];
    private readonly List<RejectedRecord> rejects = [];
    private long firstRow = -1;
    private long lastRow = -1;
    private readonly Stopwatch chunkClock = new();
    private ManifestChunk? writtenChunk; // written, not yet in the manifest
    private long appendedRejects; // appended, not yet in the manifest
    private long appendedRejectsBytes;
    private long tokensAtStart;

    public CorpusJob(CorpusJobSettings job, EmbeddingModel model, CorpusProgress progress, CliContext context)
    {
        this.job = job;
        this.model = model;
        this.progress = progress;
        this.context = context;
        writer = job.OutputFormat == "jsonl"
            ? new JsonLinesChunkWriter()
            : new ParquetChunkWriter(model.Dimensions, job.Input.Keep.Any, FileMetadata());
        // Vectors wait in memory until their chunk is committed: cap them at MaxChunkVectorBytes (wide vectors, e.g. logits).
        chunkRecords = (int)Math.Clamp(MaxChunkVectorBytes / (4L * model.Dimensions), 1, job.ChunkRecords);
        holdBeforeChunk = int.TryParse(Environment.GetEnvironmentVariable(HoldBeforeCommitVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : null;
    }

    public async Task<CorpusSummary> RunAsync(CancellationToken cancellationToken)
    {
        using var output = CorpusOutput.Open(job.OutputDirectory, job.Shard, writer is JsonLinesChunkWriter ? ".jsonl" : ".parquet");
        await using var reader = await CorpusReaders.OpenAsync(job.Input, cancellationToken).ConfigureAwait(false);
        var settings = Settings();
        var fingerprint = CorpusManifest.FingerprintOf(settings);
        var jobFingerprint = CorpusManifest.FingerprintOf(settings.Where(pair => pair.Key != "shard.index"));
        CheckOtherShards(output, settings, jobFingerprint);

        var existing = CorpusManifest.TryLoad(output.ManifestPath);
        if (existing is not null && job.Restart)
        {
            output.DeleteShardFiles();
            existing = null;
        }
        if (existing is not null && existing.Fingerprint != fingerprint)
        {
            throw new CliRuntimeException(
                $"'{job.OutputDirectory}' already holds results made with other settings ({string.Join("; ", CorpusManifest.Differences(existing.Settings, settings))}); " +
                "rerun with the original settings to continue, pass --restart to discard them, or choose another --output.");
        }
        manifest = existing ?? new CorpusManifest
        {
            Fingerprint = fingerprint,
            JobFingerprint = jobFingerprint,
            Settings = settings,
            Shard = new ManifestShard { Index = job.Shard.Index, Count = job.Shard.Count, By = job.Shard.KeyName },
        };
        tokensAtStart = manifest.Tokens;
        manifest.ModelDirectory = model.Checkpoint.Directory;
        manifest.InputFile = job.Input.Path;
        if (manifest.Complete)
            return Summary(output, wasAlreadyComplete: true, resumed: false);
        var resumed = existing is not null;
        output.DiscardUncommitted(manifest);

        var start = manifest.Position.ToPosition();
        progress.Start(reader.TotalUnits, reader.UnitsAt(start), manifest.Embedded, manifest.Rejected);
        if (resumed)
            context.Note($"embed-corpus: resuming {(job.Shard.IsSharded ? job.Shard.Name + " " : "")}after {manifest.Embedded:N0} embedded and {manifest.Rejected:N0} rejected records ({manifest.Chunks.Count} chunks), at record {start.Records:N0}.");

        var end = await progress.RunAsync(() => EmbedAsync(output, reader, start, cancellationToken)).ConfigureAwait(false);
        await CommitAsync(output, end, complete: true, cancellationToken).ConfigureAwait(false);
        return Summary(output, wasAlreadyComplete: false, resumed);
    }

    /// <summary>Embeds this shard's records from <paramref name="start"/>, committing chunks as they fill; returns where the input ended.</summary>
    private async Task<InputPosition> EmbedAsync(CorpusOutput output, ICorpusReader reader, InputPosition start, CancellationToken cancellationToken)
    {
        var lastRead = new LastRead(start);
        var position = start;
        chunkClock.Restart();
        try
        {
            var owned = Owned(reader.ReadAsync(start, cancellationToken), lastRead, cancellationToken);
            await foreach (var item in model.EmbedStreamAsync(owned, r => r.Problem is null ? r.Text : null, job.Call, job.Stream, cancellationToken).ConfigureAwait(false))
            {
                var record = item.Record;
                var problem = item.Embedding is null ? record.Problem! : item.Embedding.Truncated && !job.Truncate ? OverLimit(record) : null;
                if (problem is not null)
                {
                    if (job.FailOnBadRecord)
                    {
                        await CommitAsync(output, position, complete: false, CancellationToken.None).ConfigureAwait(false);
                        throw new CliRuntimeException(
                            $"bad record at {record.Location} of '{job.Input.Path}' (record {record.Row}{(record.Id is null ? "" : $", id '{record.Id}'")}): {problem}. " +
                            "Pass --on-bad-record skip to write bad records to a rejects file and go on.");
                    }
                    rejects.Add(new RejectedRecord(record.Row, record.Line, record.Id, problem));
                }
                else
                {
                    var embedding = item.Embedding!;
                    rows.Add(new OutputRow(record.Id!, embedding.Vector, embedding.TokenCount, embedding.Truncated, record.Fields));
                }
                if (firstRow < 0)
                    firstRow = record.Row;
                lastRow = record.Row;
                position = record.End;
                progress.Record(reader.UnitsAt(position), problem is null);
                if (rows.Count + rejects.Count >= chunkRecords || chunkClock.Elapsed >= job.ChunkTime)
                    await CommitAsync(output, position, complete: false, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Keep what is embedded: a rerun continues after it.
            await CommitAsync(output, position, complete: false, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return lastRead.Position;
    }

    /// <summary>This shard's records; remembers where the last record read (of any shard) ended.</summary>
    private async IAsyncEnumerable<InputRecord> Owned(IAsyncEnumerable<InputRecord> records, LastRead lastRead, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            lastRead.Position = record.End;
            if (job.Shard.Owns(record))
                yield return record;
        }
    }

    private sealed class LastRead(InputPosition position)
    {
        public InputPosition Position { get; set; } = position;
    }

    private string OverLimit(InputRecord record)
    {
        try
        {
            model.Tokenize(record.Text!, job.Call with { Truncation = TruncationPolicy.Throw });
        }
        catch (InputTooLongException e)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{e.TokenCount} tokens, over the limit of {e.MaxTokens} (truncation is off)");
        }
        return string.Create(CultureInfo.InvariantCulture, $"over the limit of {model.MaxTokens} tokens (truncation is off)");
    }

    /// <summary>
    /// Commits the open chunk: its file, its rejects, then the manifest that lists both and the position after them.
    /// Each step's result is kept until the manifest is saved, so a commit interrupted after a step (cancellation) and
    /// called again repeats no step.
    /// </summary>
    private async Task CommitAsync(CorpusOutput output, InputPosition position, bool complete, CancellationToken cancellationToken)
    {
        if (rows.Count == 0 && rejects.Count == 0 && writtenChunk is null && appendedRejects == 0 && !complete)
            return;
        if (rows.Count > 0)
        {
            var index = manifest.Chunks.Count;
            var bytes = await output.WriteChunkAsync(index, writer, rows, cancellationToken).ConfigureAwait(false);
            writtenChunk = new ManifestChunk
            {
                File = output.ChunkFileName(index), Records = rows.Count, Tokens = rows.Sum(r => (long)r.Tokens), Bytes = bytes, FirstRow = firstRow, LastRow = lastRow,
            };
            rows.Clear();
        }
        if (rejects.Count > 0)
        {
            appendedRejectsBytes = output.AppendRejects(rejects);
            appendedRejects += rejects.Count;
            rejects.Clear();
        }
        if (holdBeforeChunk is { } hold && manifest.Chunks.Count + (writtenChunk is null ? 0 : 1) > hold)
        {
            holdBeforeChunk = null;
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        if (writtenChunk is not null)
        {
            manifest.Chunks.Add(writtenChunk);
            manifest.Embedded += writtenChunk.Records;
            manifest.Tokens += writtenChunk.Tokens;
        }
        if (appendedRejects > 0)
        {
            manifest.RejectsBytes = appendedRejectsBytes;
            manifest.RejectsFile = output.RejectsFileName;
            manifest.Rejected += appendedRejects;
        }
        manifest.Position = ManifestPosition.From(position);
        manifest.Complete = complete;
        manifest.Save(output.ManifestPath);
        writtenChunk = null;
        appendedRejects = 0;
        firstRow = lastRow = -1;
        chunkClock.Restart();
    }

    private void CheckOtherShards(CorpusOutput output, SortedDictionary<string, string> settings, string jobFingerprint)
    {
        foreach (var path in output.OtherManifests())
        {
            var other = CorpusManifest.TryLoad(path);
            if (other is null || other.JobFingerprint == jobFingerprint)
                continue;
            var differences = CorpusManifest.Differences(other.Settings.Where(p => p.Key != "shard.index").ToDictionary(), settings.Where(p => p.Key != "shard.index").ToDictionary());
            throw new CliRuntimeException(
                $"'{job.OutputDirectory}' holds results of another job ('{Path.GetFileName(path)}': {string.Join("; ", differences)}); " +
                "shards of one job must share every setting but their index. Choose another --output.");
        }
    }

    /// <summary>Every setting that shapes the results, resolved against the loaded model.</summary>
    private SortedDictionary<string, string> Settings()
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in job.Settings)
            settings[key] = value;
        foreach (var (key, value) in CorpusIdentity.OfInput(job.Input.Path).Concat(CorpusIdentity.OfModel(model.Checkpoint.Directory)))
            settings[key] = value;
        settings["input.format"] = job.Input.Format;
        settings["input.idField"] = job.Input.IdField;
        settings["input.textField"] = job.Input.TextField;
        if (job.Input.Format is "csv" or "tsv")
        {
            settings["input.header"] = job.Input.Header ? "true" : "false";
            settings["input.quoting"] = job.Input.Quoted ? "rfc4180" : "none";
        }
        settings["keepFields"] = job.Input.Keep.ToString();
        settings["pooling"] = model.Pooling.Name + (model.Pooling.Layer is { } layer ? "@" + layer.ToString(CultureInfo.InvariantCulture) : "");
        settings["prompt"] = model.Prompt.Name;
        settings["dimensions"] = model.Dimensions.ToString(CultureInfo.InvariantCulture);
        settings["normalize"] = model.Normalize ? "true" : "false";
        settings["maxTokens"] = model.MaxTokens.ToString(CultureInfo.InvariantCulture);
        settings["dtype"] = model.Checkpoint.ComputeDType;
        settings["truncate"] = job.Truncate ? "true" : "false";
        settings["outputFormat"] = job.OutputFormat;
        settings["shard.count"] = job.Shard.Count.ToString(CultureInfo.InvariantCulture);
        settings["shard.index"] = job.Shard.Index.ToString(CultureInfo.InvariantCulture);
        if (job.Shard.IsSharded)
            settings["shard.by"] = job.Shard.KeyName;
        return settings;
    }

    /// <summary>Key-value metadata of every Parquet chunk file.</summary>
    private Dictionary<string, string> FileMetadata() => new(StringComparer.Ordinal)
    {
        ["lte.format"] = CorpusManifest.FormatName,
        ["lte.model"] = model.ModelId,
        ["lte.pooling"] = model.Pooling.Name,
        ["lte.prompt"] = model.Prompt.Name,
        ["lte.dimension"] = model.Dimensions.ToString(CultureInfo.InvariantCulture),
        ["lte.normalized"] = model.Normalize ? "true" : "false",
        ["lte.dtype"] = model.Checkpoint.ComputeDType,
        ["lte.shard"] = job.Shard.IsSharded ? $"{job.Shard.Index}/{job.Shard.Count}" : "0/1",
    };

    private CorpusSummary Summary(CorpusOutput output, bool wasAlreadyComplete, bool resumed) =>
        new(job.OutputDirectory, output.ManifestPath, manifest.RejectsFile is null ? null : output.RejectsPath, manifest.Chunks.Count,
            manifest.Embedded, manifest.Tokens, manifest.Rejected, progress.RecordsThisRun, manifest.Tokens - tokensAtStart, progress.Elapsed, manifest.Complete, wasAlreadyComplete, resumed);
}

/// <summary>Opens the reader for an input format.</summary>
internal static class CorpusReaders
{
    public static async Task<ICorpusReader> OpenAsync(CorpusInputSettings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.Path))
            throw new CliRuntimeException($"cannot read --input '{settings.Path}': file not found");
        return settings.Format switch
        {
            "jsonl" => new JsonLinesCorpusReader(settings),
            "csv" or "tsv" => new DelimitedCorpusReader(settings),
            "parquet" => await ParquetCorpusReader.OpenAsync(settings, cancellationToken).ConfigureAwait(false),
            _ => throw new UsageException($"unknown input format '{settings.Format}'."),
        };
    }

    /// <summary>The format named by <c>--input-format</c>, or told by the file's extension.</summary>
    public static string DetectFormat(string path, string requested)
    {
        if (requested != "auto")
            return requested;
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jsonl" or ".ndjson" or ".json" => "jsonl",
            ".csv" => "csv",
            ".tsv" or ".tab" => "tsv",
            ".parquet" or ".pq" => "parquet",
            var other => throw new UsageException($"cannot tell the format of '{path}' from its extension '{other}'; pass --input-format jsonl|csv|tsv|parquet."),
        };
    }
}
