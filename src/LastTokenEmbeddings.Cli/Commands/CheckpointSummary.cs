using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary>
/// What <c>lte info</c> reports: config.json, the tokenizer, the sentence-transformers files and the safetensors
/// headers, checked as loading checks them (every expected tensor's name, shape and dtype), without reading weights.
/// </summary>
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
    ModelTokenizer Tokenizer,
    DeclaredEmbeddingSettings? Declared,
    CheckpointInfo Validated)
{
    /// <exception cref="CheckpointException">A file is missing or malformed, a tensor is missing, wrongly shaped or unexpected, or the tokenizer does not fit the model.</exception>
    public static CheckpointSummary Read(string directory, ModelLoadOptions loadOptions)
    {
        var config = DecoderConfig.Load(Path.Combine(directory, "config.json"));
        var tokenizer = ModelTokenizer.Load(directory);
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new CheckpointException(tokenizer.SourcePath,
                $"the tokenizer has {tokenizer.VocabularySize} tokens but config.json's vocab_size is {config.VocabSize}; they belong to different models.");
        var declared = DeclaredEmbeddingSettings.Read(directory, config.HiddenSize);
        var validated = DecoderLoader.Validate(directory, loadOptions, config);
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
            config.DType, config, files, checkpoint.TotalBytes, tokenizer, declared, validated);
    }
}
