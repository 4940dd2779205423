using System.Text.Json;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// Which files of a model repository an embedding model needs, and how to read the two files that name more:
/// <c>modules.json</c> (sentence-transformers module folders) and <c>model.safetensors.index.json</c> (shards).
/// Nothing else is fetched: no <c>.bin</c>, <c>.onnx</c>, <c>.gguf</c>, <c>.h5</c> or other formats.
/// </summary>
internal static class ModelFiles
{
    public const string Config = "config.json";
    public const string Modules = "modules.json";
    public const string SingleWeights = "model.safetensors";
    public const string WeightsIndex = "model.safetensors.index.json";

    private const long MaxJsonLength = 100_000_000;

    /// <summary>The small files fetched first, each only when the repository has it.</summary>
    public static readonly IReadOnlyList<string> MetadataFiles =
    [
        Config,
        "tokenizer.json",
        "tokenizer_config.json",
        "tokenizer.model",
        "special_tokens_map.json",
        "generation_config.json",
        Modules,
        "config_sentence_transformers.json",
        "sentence_bert_config.json",
    ];

    /// <summary>Weight formats this library does not load, named in the error for a repository without safetensors.</summary>
    private static readonly string[] OtherWeightExtensions = [".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf", ".safetensors"];

    /// <summary>The repository's weight files in other formats (or safetensors in subfolders), for the error message.</summary>
    public static IEnumerable<string> OtherWeightFiles(IEnumerable<string> repoFiles) =>
        repoFiles.Where(f => OtherWeightExtensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).Order(StringComparer.Ordinal);

    /// <summary>
    /// A '/'-separated path that stays inside the folder it is joined to, on every OS (huggingface_hub's
    /// <c>_validate_relative_filename</c>): not empty, not rooted, no drive, no backslash, no empty, '.' or '..' segment.
    /// </summary>
    public static bool IsSafeRelativePath(string path) =>
        path.Length is > 0 and <= 1024
        && !path.Contains('\\', StringComparison.Ordinal)
        && !path.Contains(':', StringComparison.Ordinal)
        && !path.Contains('\0', StringComparison.Ordinal)
        && path.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");

    /// <summary>The distinct shard names of an index's <c>weight_map</c>, in ordinal order.</summary>
    /// <exception cref="FormatException">The file is not an index, or names an unsafe path.</exception>
    public static IReadOnlyList<string> ReadShardNames(string indexPath)
    {
        using var document = ParseJson(indexPath);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("weight_map", out var weightMap)
            || weightMap.ValueKind != JsonValueKind.Object)
            throw new FormatException("it has no \"weight_map\" object");
        var shards = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in weightMap.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString() is not { } shard || !IsSafeRelativePath(shard))
                throw new FormatException($"weight_map[\"{entry.Name}\"] is not a relative file name");
            shards.Add(shard);
        }
        if (shards.Count == 0)
            throw new FormatException("its weight_map is empty");
        return [.. shards];
    }

    /// <summary>The module folders <c>modules.json</c> names (its non-empty <c>path</c> values), in file order.</summary>
    /// <exception cref="FormatException">The file is not a module list, or names an unsafe path.</exception>
    public static IReadOnlyList<string> ReadModuleFolders(string modulesPath)
    {
        using var document = ParseJson(modulesPath);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new FormatException("it is not a JSON array");
        var folders = new List<string>();
        foreach (var module in document.RootElement.EnumerateArray())
        {
            if (module.ValueKind != JsonValueKind.Object || !module.TryGetProperty("path", out var path))
                continue;
            if (path.ValueKind != JsonValueKind.String)
                throw new FormatException("a module's \"path\" is not a string");
            var folder = path.GetString()!.Trim('/');
            if (folder.Length == 0)
                continue; // the root module (the transformer itself)
            if (!IsSafeRelativePath(folder))
                throw new FormatException($"module path \"{folder}\" is not a relative folder name");
            if (!folders.Contains(folder, StringComparer.Ordinal))
                folders.Add(folder);
        }
        return folders;
    }

    private static JsonDocument ParseJson(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxJsonLength)
            throw new FormatException($"it is {length} bytes; refusing to parse more than {MaxJsonLength}");
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new FormatException($"it is not valid JSON ({e.Message})", e);
        }
    }
}
