using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// The record of one shard's progress in an output directory (<c>_manifest.json</c>, or
/// <c>_manifest-shard-00002-of-00004.json</c>), rewritten atomically after every chunk: the settings the results were
/// made with (and their fingerprints), the committed chunks, the input position reached and the rejects file length.
/// Whatever is on disk beyond what it lists (a chunk renamed just before a crash, rejects appended after the last
/// commit) is discarded when the run resumes.
/// </summary>
internal sealed class CorpusManifest
{
    public const string FormatName = "lte-embed-corpus";
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Format { get; set; } = FormatName;

    public int Version { get; set; } = CurrentVersion;

    /// <summary>SHA-256 of every setting (input, model, embedding options, output format, shard).</summary>
    public string Fingerprint { get; set; } = "";

    /// <summary>SHA-256 of the settings without the shard index: equal for every shard of one job.</summary>
    public string JobFingerprint { get; set; } = "";

    /// <summary>The settings themselves, so a refusal can say which one changed.</summary>
    public SortedDictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);

    public ManifestShard Shard { get; set; } = new();

    /// <summary>Where the next run continues reading.</summary>
    public ManifestPosition Position { get; set; } = new();

    /// <summary>Records written to the committed chunks.</summary>
    public long Embedded { get; set; }

    /// <summary>Tokens the decoder saw for the embedded records (prompt format included).</summary>
    public long Tokens { get; set; }

    /// <summary>Records written to the committed part of the rejects file.</summary>
    public long Rejected { get; set; }

    /// <summary>The rejects file (in the output directory), when any record was rejected.</summary>
    public string? RejectsFile { get; set; }

    /// <summary>Committed length of the rejects file in bytes.</summary>
    public long RejectsBytes { get; set; }

    public List<ManifestChunk> Chunks { get; set; } = [];

    /// <summary>The whole input has been read and every record of this shard is in a chunk or the rejects file.</summary>
    public bool Complete { get; set; }

    public DateTimeOffset Updated { get; set; }

    /// <summary>The model directory, for people reading the manifest (not part of the fingerprint: the files' contents are).</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>The input file, for people reading the manifest (not part of the fingerprint: its contents are).</summary>
    public string? InputFile { get; set; }

    public static CorpusManifest? TryLoad(string path)
    {
        if (!File.Exists(path))
            return null;
        CorpusManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CorpusManifest>(File.ReadAllBytes(path), SerializerOptions);
        }
        catch (JsonException e)
        {
            throw new CliRuntimeException($"the manifest '{path}' is not valid JSON ({e.Message}); it was not written by lte embed-corpus, or was edited.", e);
        }
        if (manifest is null || manifest.Format != FormatName)
            throw new CliRuntimeException($"'{path}' is not an lte embed-corpus manifest.");
        if (manifest.Version != CurrentVersion)
            throw new CliRuntimeException($"the manifest '{path}' has version {manifest.Version}; this lte writes version {CurrentVersion}.");
        return manifest;
    }

    /// <summary>Writes the manifest to a temporary file, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        Updated = DateTimeOffset.UtcNow;
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, this, SerializerOptions));
    }

    /// <summary>Fingerprint of a set of settings: SHA-256 of <c>key=value</c> lines in ordinal key order.</summary>
    public static string FingerprintOf(IEnumerable<KeyValuePair<string, string>> settings)
    {
        var canonical = new StringBuilder();
        foreach (var (key, value) in settings.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            canonical.Append(key).Append('=').Append(value.Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    /// <summary>The settings that differ, as "key: 'old' then, 'new' now".</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyDictionary<string, string> then, IReadOnlyDictionary<string, string> now) =>
        [.. then.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(key => then.GetValueOrDefault(key) != now.GetValueOrDefault(key))
            .Select(key => $"{key}: '{then.GetValueOrDefault(key) ?? "(unset)"}' then, '{now.GetValueOrDefault(key) ?? "(unset)"}' now")];
}

internal sealed class ManifestShard
{
    public int Index { get; set; }

    public int Count { get; set; } = 1;

    public string By { get; set; } = "id";
}

internal sealed class ManifestPosition
{
    /// <summary>Records read (the next record's 0-based number).</summary>
    public long Records { get; set; }

    /// <summary>Lines read (text formats).</summary>
    public long Lines { get; set; }

    /// <summary>Byte offset of the next record (text formats).</summary>
    public long Bytes { get; set; }

    public static ManifestPosition From(InputPosition position) => new() { Records = position.Records, Lines = position.Lines, Bytes = position.Bytes };

    public InputPosition ToPosition() => new(Records, Lines, Bytes);
}

internal sealed class ManifestChunk
{
    /// <summary>File name in the output directory.</summary>
    public string File { get; set; } = "";

    public long Records { get; set; }

    /// <summary>Tokens of its records.</summary>
    public long Tokens { get; set; }

    /// <summary>Size of the file, checked when resuming.</summary>
    public long Bytes { get; set; }

    /// <summary>0-based record numbers of the first and last record in the chunk.</summary>
    public long FirstRow { get; set; }

    public long LastRow { get; set; }
}

/// <summary>Files written whole or not at all: a temporary file in the same directory, flushed to disk, then renamed.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var temporary = TemporaryPath(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        var temporary = TemporaryPath(path);
        try
        {
            var stream = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 16, useAsync: false);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Hidden (dot-prefixed) temporary name next to <paramref name="path"/>; dataset readers skip such files.</summary>
    public static string TemporaryPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp");
}
