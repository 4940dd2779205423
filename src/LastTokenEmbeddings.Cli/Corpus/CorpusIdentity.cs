using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>
/// Content identities for fingerprints: of an input file (its length and a hash of its first and last MiB, so moving or
/// renaming it keeps its identity but editing or appending to it does not) and of a model directory (hashes of its
/// config, tokenizer and other small files, and the names and sizes of its weight files).
/// </summary>
internal static class CorpusIdentity
{
    private const int SampleBytes = 1 << 20;

    /// <summary>Settings describing the input file's content: <c>input.bytes</c>, <c>input.sample</c>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> OfInput(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = stream.Length;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[SampleBytes];
        hash.AppendData(buffer, 0, stream.ReadAtLeast(buffer, (int)Math.Min(length, SampleBytes), throwOnEndOfStream: false));
        if (length > SampleBytes)
        {
            stream.Seek(Math.Max(SampleBytes, length - SampleBytes), SeekOrigin.Begin);
            hash.AppendData(buffer, 0, stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false));
        }
        yield return new("input.bytes", length.ToString(CultureInfo.InvariantCulture));
        yield return new("input.sample", Short(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Settings describing a model directory's content: <c>model.config</c> (config.json), <c>model.tokenizer</c>
    /// (tokenizer files), <c>model.weights</c> (safetensors names and sizes, not their bytes: hashing gigabytes at every
    /// start would cost minutes) and <c>model.other</c> (other top-level JSON files, e.g. sentence-transformers settings).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> OfModel(string directory)
    {
        var files = Directory.EnumerateFiles(directory).Select(path => new FileInfo(path)).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var config = new StringBuilder();
        var tokenizer = new StringBuilder();
        var weights = new StringBuilder();
        var other = new StringBuilder();
        foreach (var file in files)
        {
            var name = file.Name;
            if (name.EndsWith(".safetensors", StringComparison.Ordinal))
                weights.Append(CultureInfo.InvariantCulture, $"{name}:{file.Length}\n");
            else if (name == "model.safetensors.index.json")
                weights.Append(CultureInfo.InvariantCulture, $"{name}:{HashFile(file)}\n");
            else if (name == "config.json")
                config.Append(HashFile(file));
            else if (name.StartsWith("tokenizer", StringComparison.Ordinal) || name is "special_tokens_map.json" or "vocab.json" or "merges.txt")
                tokenizer.Append(CultureInfo.InvariantCulture, $"{name}:{HashFile(file)}\n");
            else if (name.EndsWith(".json", StringComparison.Ordinal))
                other.Append(CultureInfo.InvariantCulture, $"{name}:{HashFile(file)}\n");
        }
        yield return new("model.config", config.Length == 0 ? "none" : config.ToString());
        yield return new("model.tokenizer", ShortText(tokenizer));
        yield return new("model.weights", ShortText(weights));
        yield return new("model.other", ShortText(other));
    }

    private static string HashFile(FileInfo file)
    {
        using var stream = file.OpenRead();
        return Short(SHA256.HashData(stream));
    }

    private static string ShortText(StringBuilder text) => text.Length == 0 ? "none" : Short(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));

    /// <summary>The first 16 hex digits of a hash: plenty to tell files apart, short enough to read in an error.</summary>
    private static string Short(byte[] hash) => Convert.ToHexStringLower(hash, 0, 8);
}
