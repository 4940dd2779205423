using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary>What <c>lte info</c> reports: config.json plus the safetensors headers, without loading any weights.</summary>
internal sealed record CheckpointSummary(
    string Directory,
    string Architecture,
    CheckpointLayout Layout,
    bool HasLmHead,
    bool TiedEmbeddings,
    long Parameters,
    int Tensors,
    string StoredDType,
    string? ConfigDType,
    DecoderConfig Config,
    IReadOnlyList<(string Name, long Bytes)> Files,
    long TotalBytes,
    bool HasTokenizer)
{
    /// <exception cref="CheckpointException">config.json or a safetensors header is missing or malformed, or the tensors are not a supported decoder's.</exception>
    public static CheckpointSummary Read(string directory)
    {
        var config = DecoderConfig.Load(Path.Combine(directory, "config.json"));
        using var checkpoint = ShardedCheckpoint.Open(directory);
        var names = checkpoint.TensorNames.ToHashSet(StringComparer.Ordinal);
        var layout = CheckpointInfo.DetectLayout(checkpoint, config);

        long parameters = 0;
        var dtypeCounts = new Dictionary<SafetensorsDType, long>();
        foreach (var name in names)
        {
            var info = checkpoint.GetInfo(name);
            long count = 1;
            foreach (var d in info.Shape)
                count *= d;
            parameters += count;
            dtypeCounts[info.DType] = dtypeCounts.GetValueOrDefault(info.DType) + count;
        }
        var storedDType = string.Join(", ", dtypeCounts.OrderByDescending(p => p.Value).Select(p => p.Key.ToString()));
        var hasHead = layout == CheckpointLayout.CausalLM && (names.Contains("lm_head.weight") || config.TieWordEmbeddings);
        var tied = layout == CheckpointLayout.CausalLM && config.TieWordEmbeddings;
        var architecture = config.Architecture ?? (layout == CheckpointLayout.CausalLM ? $"{config.Family}ForCausalLM" : $"{config.Family}Model");
        var files = checkpoint.Files.Select(f => (Path.GetFileName(f), new FileInfo(f).Length)).OrderBy(f => f.Item1, StringComparer.Ordinal).ToList();
        return new CheckpointSummary(directory, architecture, layout, hasHead, tied, parameters, names.Count, storedDType,
            config.DType, config, files, checkpoint.TotalBytes, File.Exists(Path.Combine(directory, "tokenizer.model")) || File.Exists(Path.Combine(directory, "tokenizer.json")));
    }
}
