using System.Globalization;
using System.Text.RegularExpressions;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// One shard's files in the output directory. Unsharded: <c>part-000000.parquet</c>, ..., <c>_manifest.json</c>,
/// <c>_rejects.jsonl</c>; shard 2 of 4: <c>shard-00002-of-00004-part-000000.parquet</c>, ...,
/// <c>_manifest-shard-00002-of-00004.json</c>, <c>_rejects-shard-00002-of-00004.jsonl</c>. Names starting with
/// <c>_</c> or <c>.</c> are skipped by dataset readers (pyarrow, Spark, DuckDB globs of <c>*.parquet</c>), so the
/// directory reads as one dataset. A lock file held for the run keeps two workers off the same shard.
/// </summary>
internal sealed class CorpusOutput : IDisposable
{
    private static readonly JsonWriterOptions RejectWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly FileStream lockFile;
    private readonly string chunkPrefix;
    private FileStream? rejects;

    private CorpusOutput(string directory, ShardSpec shard, string extension, FileStream lockFile)
    {
        Directory = directory;
        Extension = extension;
        this.lockFile = lockFile;
        var suffix = shard.IsSharded ? "-" + shard.Name : "";
        chunkPrefix = shard.IsSharded ? shard.Name + "-part-" : "part-";
        ManifestPath = Path.Combine(directory, $"_manifest{suffix}.json");
        RejectsFileName = $"_rejects{suffix}.jsonl";
        RejectsPath = Path.Combine(directory, RejectsFileName);
    }

    public string Directory { get; }

    public string Extension { get; }

    public string ManifestPath { get; }

    public string RejectsFileName { get; }

    public string RejectsPath { get; }

    /// <summary>Creates the directory if needed and takes this shard's lock.</summary>
    /// <exception cref="CliRuntimeException">Another process holds the lock, or the directory cannot be written.</exception>
    public static CorpusOutput Open(string directory, ShardSpec shard, string extension)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliRuntimeException($"cannot create the output directory '{directory}': {e.Message}", e);
        }
        var lockPath = Path.Combine(directory, shard.IsSharded ? $".lte-{shard.Name}.lock" : ".lte.lock");
        FileStream lockFile;
        try
        {
            // FileShare.None is an exclusive advisory lock on Unix too; it goes away with the process, however it ends.
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new CliRuntimeException(
                $"another lte embed-corpus is writing {(shard.IsSharded ? shard.Name : "this output")} in '{directory}' (lock '{lockPath}' is held).", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CliRuntimeException($"cannot write in the output directory '{directory}': {e.Message}", e);
        }
        return new CorpusOutput(directory, shard, extension, lockFile);
    }

    /// <summary>
    /// This shard's chunk files and their temporary files, by exact name (<c>part-000123.parquet</c>,
    /// <c>.part-000123.parquet.tmp</c>), so other files in the directory (e.g. a Spark <c>part-00000-…</c>) are never touched.
    /// </summary>
    private IEnumerable<string> OwnFiles()
    {
        var pattern = new Regex("^\\.?" + Regex.Escape(chunkPrefix) + "[0-9]{6}\\.(parquet|jsonl)(\\.tmp)?$", RegexOptions.CultureInvariant);
        return System.IO.Directory.EnumerateFiles(Directory).Where(path => pattern.IsMatch(Path.GetFileName(path)));
    }

    public string ChunkFileName(int index) => chunkPrefix + index.ToString("D6", CultureInfo.InvariantCulture) + Extension;

    /// <summary>The manifests of other shards (or of an unsharded run) in the directory.</summary>
    public IEnumerable<string> OtherManifests() =>
        System.IO.Directory.EnumerateFiles(Directory, "_manifest*.json").Where(path => !string.Equals(path, ManifestPath, StringComparison.Ordinal));

    /// <summary>
    /// Removes what a crashed or killed run left beyond <paramref name="manifest"/>: chunk files it does not list,
    /// temporary files, and rejects past its committed length.
    /// </summary>
    public void DiscardUncommitted(CorpusManifest manifest)
    {
        var listed = manifest.Chunks.Select(c => c.File).ToHashSet(StringComparer.Ordinal);
        foreach (var path in OwnFiles())
        {
            if (!listed.Contains(Path.GetFileName(path)))
                File.Delete(path);
        }
        foreach (var chunk in manifest.Chunks)
        {
            var info = new FileInfo(Path.Combine(Directory, chunk.File));
            if (!info.Exists)
                throw new CliRuntimeException($"the output is damaged: '{info.FullName}', listed in '{ManifestPath}', is missing. Rerun with --restart to start this shard over.");
            if (info.Length != chunk.Bytes)
                throw new CliRuntimeException($"the output is damaged: '{info.FullName}' has {info.Length} bytes; '{ManifestPath}' records {chunk.Bytes}. Rerun with --restart to start this shard over.");
        }
        var rejectsLength = File.Exists(RejectsPath) ? new FileInfo(RejectsPath).Length : 0;
        if (rejectsLength < manifest.RejectsBytes)
            throw new CliRuntimeException($"the output is damaged: '{RejectsPath}' has {rejectsLength} bytes; '{ManifestPath}' records {manifest.RejectsBytes}. Rerun with --restart to start this shard over.");
        if (rejectsLength > manifest.RejectsBytes)
        {
            using var stream = new FileStream(RejectsPath, FileMode.Open, FileAccess.Write, FileShare.None);
            stream.SetLength(manifest.RejectsBytes);
        }
    }

    /// <summary>Deletes every file of this shard (--restart).</summary>
    public void DeleteShardFiles()
    {
        foreach (var path in OwnFiles())
            File.Delete(path);
        File.Delete(RejectsPath);
        File.Delete(ManifestPath);
    }

    /// <summary>Writes a chunk file atomically; returns its size.</summary>
    public async Task<long> WriteChunkAsync(int index, IChunkWriter writer, IReadOnlyList<OutputRow> rows, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Directory, ChunkFileName(index));
        await AtomicFile.WriteAsync(path, stream => writer.WriteAsync(stream, rows, cancellationToken)).ConfigureAwait(false);
        return new FileInfo(path).Length;
    }

    /// <summary>Appends rejected records to the rejects file and flushes it to disk; returns the file's new length.</summary>
    public long AppendRejects(IReadOnlyList<RejectedRecord> rejected)
    {
        rejects ??= new FileStream(RejectsPath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
        foreach (var record in rejected)
        {
            using (var writer = new Utf8JsonWriter(rejects, RejectWriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteNumber("row", record.Row);
                if (record.Line is { } line)
                    writer.WriteNumber("line", line);
                if (record.Id is { } id)
                    writer.WriteString("id", id);
                writer.WriteString("reason", record.Reason);
                writer.WriteEndObject();
            }
            rejects.WriteByte((byte)'\n');
        }
        rejects.Flush(flushToDisk: true);
        return rejects.Length;
    }

    public void Dispose()
    {
        rejects?.Dispose();
        lockFile.Dispose();
    }
}

/// <summary>A record that was not embedded, as the rejects file lists it.</summary>
internal sealed record RejectedRecord(long Row, long? Line, string? Id, string Reason);
