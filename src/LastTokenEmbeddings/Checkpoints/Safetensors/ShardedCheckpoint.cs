using System.Collections.ObjectModel;
using System.Text.Json;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>
/// The weights of a Hugging Face checkpoint directory: either a single <c>model.safetensors</c>, or
/// <c>model.safetensors.index.json</c> plus the shards its <c>weight_map</c> names. The index and every
/// shard are validated against each other when opened; each shard is opened (and mapped) once.
/// </summary>
internal sealed class ShardedCheckpoint : IDisposable
{
    /// <summary>The single-file weights name.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The sharded-weights index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const long MaxIndexLength = 100_000_000;

    private readonly Dictionary<string, SafetensorsFile> _fileOf;
    private readonly List<SafetensorsFile> _files;
    private readonly string _sourcePath;
    private bool _disposed;

    private ShardedCheckpoint(string directory, string sourcePath, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf)
    {
        Directory = directory;
        _sourcePath = sourcePath;
        _files = files;
        _fileOf = fileOf;
        TensorNames = fileOf.Keys.Order(StringComparer.Ordinal).ToList().AsReadOnly();
        Files = files.Select(f => f.FilePath).ToList().AsReadOnly();
        TotalBytes = files.Sum(f => f.FileLength);
    }

    /// <summary>The checkpoint directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The file that lists the tensors: <c>model.safetensors</c> itself, or the index.</summary>
    public string SourcePath => _sourcePath;

    /// <summary>All tensor names, in ordinal order.</summary>
    public IReadOnlyCollection<string> TensorNames { get; }

    /// <summary>Full paths of the safetensors files in use, in ordinal order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The sum of the sizes of <see cref="Files"/>, in bytes.</summary>
    public long TotalBytes { get; }

    /// <summary>
    /// Opens the checkpoint in <paramref name="directory"/>: <c>model.safetensors</c> when present (as
    /// transformers prefers it), otherwise <c>model.safetensors.index.json</c> and its shards.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <returns>The open checkpoint; dispose it when done.</returns>
    /// <exception cref="CheckpointException">
    /// Neither file exists, the index is malformed or names a file outside the directory, a shard is missing
    /// or malformed, or the index and shards disagree about which tensors exist where.
    /// </exception>
    public static ShardedCheckpoint Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var fullDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(fullDirectory))
        {
            throw new SafetensorsFormatException(fullDirectory, "checkpoint directory does not exist");
        }

        var single = Path.Combine(fullDirectory, SingleFileName);
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            return new ShardedCheckpoint(fullDirectory, file.FilePath, [file], file.Tensors.Keys.ToDictionary(n => n, _ => file, StringComparer.Ordinal));
        }

        var index = Path.Combine(fullDirectory, IndexFileName);
        if (!File.Exists(index))
        {
            throw new SafetensorsFormatException(fullDirectory, $"no checkpoint weights: neither {SingleFileName} nor {IndexFileName} exists in the directory");
        }
        return OpenSharded(fullDirectory, index);
    }

    private static ShardedCheckpoint OpenSharded(string directory, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);

        // Resolve and check every shard name before opening anything.
        var shardPathOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensor, shard) in weightMap)
        {
            if (!shardPathOf.ContainsKey(shard))
            {
                shardPathOf.Add(shard, ResolveShard(directory, indexPath, tensor, shard));
            }
        }

        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shardPath in shardPathOf.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (!File.Exists(shardPath))
                {
                    var shardName = shardPathOf.First(kv => kv.Value == shardPath).Key;
                    throw new SafetensorsFormatException(shardPath, $"shard file '{shardName}' listed in {indexPath} does not exist");
                }
                shards.Add(shardPath, SafetensorsFile.Open(shardPath));
            }

            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var shard in shards.Values)
            {
                foreach (var name in shard.Tensors.Keys)
                {
                    if (fileOf.TryGetValue(name, out var other))
                    {
                        throw new SafetensorsFormatException(shard.FilePath, $"tensor is present in two shards: {other.FilePath} and {shard.FilePath}", name);
                    }
                    fileOf.Add(name, shard);
                }
            }

            foreach (var (tensor, shardName) in weightMap)
            {
                var shard = shards[shardPathOf[shardName]];
                if (!shard.Tensors.ContainsKey(tensor))
                {
                    var where = fileOf.TryGetValue(tensor, out var actual) ? $" (it is in {actual.FilePath})" : "";
                    throw new SafetensorsFormatException(shard.FilePath, $"tensor listed for shard '{shardName}' in {indexPath} is missing from the shard{where}", tensor);
                }
            }

            foreach (var (tensor, shard) in fileOf)
            {
                if (!weightMap.ContainsKey(tensor))
                {
                    throw new SafetensorsFormatException(indexPath, $"tensor in shard {shard.FilePath} is not listed in the index's weight_map", tensor);
                }
            }

            var files = shards.Values.ToList();
            return new ShardedCheckpoint(directory, indexPath, files, fileOf);
        }
        catch
        {
            foreach (var shard in shards.Values)
            {
                shard.Dispose();
            }
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        byte[] bytes;
        try
        {
            var length = new FileInfo(indexPath).Length;
            if (length > MaxIndexLength)
            {
                throw new SafetensorsFormatException(indexPath, $"index file is {length} bytes, over the limit of {MaxIndexLength} bytes");
            }
            bytes = File.ReadAllBytes(indexPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsFormatException(indexPath, $"cannot read the index: {ex.Message}", innerException: ex);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsFormatException(indexPath, "index is not a JSON object");
            }

            JsonElement? weightMapElement = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "weight_map")
                {
                    if (weightMapElement.HasValue)
                    {
                        throw new SafetensorsFormatException(indexPath, "duplicate key 'weight_map' in the index");
                    }
                    weightMapElement = property.Value;
                }
            }
            if (weightMapElement is not { } weightMap)
            {
                throw new SafetensorsFormatException(indexPath, "index has no 'weight_map'");
            }
            if (weightMap.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsFormatException(indexPath, "'weight_map' must be a JSON object mapping tensor names to shard file names");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in weightMap.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    throw new SafetensorsFormatException(indexPath, "'weight_map' value must be a shard file name (a string)", entry.Name);
                }
                if (!result.TryAdd(entry.Name, entry.Value.GetString()!))
                {
                    throw new SafetensorsFormatException(indexPath, "tensor listed twice in 'weight_map'", entry.Name);
                }
            }
            if (result.Count == 0)
            {
                throw new SafetensorsFormatException(indexPath, "'weight_map' is empty");
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException(indexPath, $"index is not valid JSON: {ex.Message}", innerException: ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new SafetensorsFormatException(indexPath, $"index is not valid JSON: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>The full path of shard <paramref name="shard"/>, which must lie inside <paramref name="directory"/>.</summary>
    private static string ResolveShard(string directory, string indexPath, string tensor, string shard)
    {
        string? problem = null;
        if (shard.Length == 0)
        {
            problem = "is empty";
        }
        else if (shard.Contains('\0', StringComparison.Ordinal))
        {
            problem = "contains a NUL character";
        }
        else if (Path.IsPathRooted(shard) || shard[0] is '/' or '\\' || shard.Contains(':', StringComparison.Ordinal))
        {
            problem = "is an absolute path (path traversal)";
        }
        else if (shard.Split('/', '\\').Any(segment => segment == ".."))
        {
            problem = "contains a '..' segment (path traversal)";
        }

        if (problem is null)
        {
            var full = Path.GetFullPath(Path.Combine(directory, shard));
            var prefix = directory + Path.DirectorySeparatorChar;
            if (!full.StartsWith(prefix, StringComparison.Ordinal) || full.Length == prefix.Length)
            {
                problem = "resolves outside the checkpoint directory (path traversal)";
            }
            else
            {
                return full;
            }
        }
        throw new SafetensorsFormatException(indexPath, $"shard file name '{shard}' {problem}", tensor);
    }

    /// <summary>The header entry of tensor <paramref name="name"/>.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>Its dtype, shape and offsets within its file.</returns>
    /// <exception cref="CheckpointException">There is no such tensor.</exception>
    public SafetensorsTensorInfo GetInfo(string name) => Find(name).Tensors[name];

    /// <summary>The full path of the file holding tensor <paramref name="name"/>.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>One of <see cref="Files"/>.</returns>
    /// <exception cref="CheckpointException">There is no such tensor.</exception>
    public string FileOf(string name) => Find(name).FilePath;

    /// <summary>Reads tensor <paramref name="name"/> from its file; see <see cref="SafetensorsFile.Read"/>.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>A CPU tensor the caller owns (a view over the mapped file when aligned).</returns>
    /// <exception cref="CheckpointException">There is no such tensor, or it cannot be read.</exception>
    public Tensor Read(string name) => Find(name).Read(name);

    /// <summary>Drops the resident pages of <paramref name="name"/>'s data from this process (after it was copied elsewhere).</summary>
    /// <param name="name">A tensor name.</param>
    public void ReleasePages(string name) => Find(name).ReleasePages(name);

    private SafetensorsFile Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _fileOf.TryGetValue(name, out var file)
            ? file
            : throw new SafetensorsFormatException(_sourcePath, "no such tensor in the checkpoint", name);
    }

    /// <summary>Closes every file; tensors already read stay valid.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }
}
