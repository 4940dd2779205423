namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// How a checkpoint says it should be used as an embedding model, in the sentence-transformers files that
/// sentence-transformers and TEI read: <c>modules.json</c> (Transformer → Pooling → Normalize),
/// <c>1_Pooling/config.json</c>, <c>config_sentence_transformers.json</c> (prompts) and <c>sentence_bert_config.json</c>.
/// With no explicit options, a model embeds as these declare.
/// </summary>
public sealed record DeclaredEmbeddingSettings
{
    /// <summary>The pooling mode: "lasttoken", "mean" or "weightedmean" (the modes the library implements).</summary>
    public required string PoolingMode { get; init; }

    /// <summary>Whether prompt tokens take part in pooling (<c>include_prompt</c>; only <c>true</c> is supported for mean poolings).</summary>
    public bool IncludePrompt { get; init; } = true;

    /// <summary>Whether a <c>Normalize</c> module L2-normalises the vectors.</summary>
    public bool Normalize { get; init; }

    /// <summary>Named prompts (e.g. <c>query</c>, <c>document</c>) prepended to texts.</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; init; } = new Dictionary<string, string>();

    /// <summary>The prompt used when none is named (<c>default_prompt_name</c>).</summary>
    public string? DefaultPromptName { get; init; }

    /// <summary>The longest input sentence-transformers feeds the model (<c>max_seq_length</c>).</summary>
    public int? MaxSeqLength { get; init; }

    /// <summary>The similarity the model was trained for (<c>similarity_fn_name</c>, e.g. "cosine").</summary>
    public string? SimilarityFunction { get; init; }

    /// <summary>The prompt for queries: <c>query</c>, else the default prompt, else empty (sentence-transformers' <c>encode_query</c>).</summary>
    public string QueryPrompt => Prompts.TryGetValue("query", out var prompt) ? prompt : DefaultPrompt;

    /// <summary>The prompt for documents: <c>document</c>, <c>passage</c> or <c>corpus</c>, else the default prompt, else empty (<c>encode_document</c>).</summary>
    public string DocumentPrompt =>
        new[] { "document", "passage", "corpus" }.Select(name => Prompts.TryGetValue(name, out var prompt) ? prompt : null).FirstOrDefault(p => p is not null)
        ?? DefaultPrompt;

    private string DefaultPrompt => DefaultPromptName is { } name && Prompts.TryGetValue(name, out var prompt) ? prompt : "";

    /// <summary>
    /// Reads the sentence-transformers files of <paramref name="directory"/>; <see langword="null"/> when it has none
    /// (neither <c>modules.json</c> nor <c>config_sentence_transformers.json</c>).
    /// </summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="hiddenSize">The decoder's hidden size, which the pooling's dimension must equal.</param>
    /// <exception cref="CheckpointException">A file is malformed, names a module the library cannot apply, or contradicts the model.</exception>
    public static DeclaredEmbeddingSettings? Read(string directory, int hiddenSize)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var modulesPath = Path.Combine(directory, "modules.json");
        var promptsPath = Path.Combine(directory, "config_sentence_transformers.json");
        if (!File.Exists(modulesPath) && !File.Exists(promptsPath))
            return null;

        var settings = File.Exists(modulesPath) ? ReadModules(directory, modulesPath, hiddenSize) : new DeclaredEmbeddingSettings { PoolingMode = "lasttoken" };
        if (File.Exists(promptsPath))
            settings = JsonFields.ReadFile(promptsPath, fields => ReadPrompts(fields, settings));
        var bertConfig = Path.Combine(directory, "sentence_bert_config.json");
        if (File.Exists(bertConfig))
        {
            settings = JsonFields.ReadFile(bertConfig, fields =>
            {
                if (fields.OptionalBool("do_lower_case") == true)
                    throw fields.Error("do_lower_case", "is true: lower-casing inputs is not supported for decoder checkpoints.");
                return settings with { MaxSeqLength = fields.OptionalPositiveInt("max_seq_length") };
            });
        }
        return settings;
    }

    private static DeclaredEmbeddingSettings ReadModules(string directory, string modulesPath, int hiddenSize)
    {
        var modules = JsonFields.ReadListFile(modulesPath, entries => entries.Select(e => (Type: e.RequiredString("type"), Path: e.OptionalString("path") ?? "")).ToList());
        string? pooling = null;
        var includePrompt = true;
        var normalize = false;
        var sawTransformer = false;
        for (var i = 0; i < modules.Count; i++)
        {
            var (type, path) = modules[i];
            var shortType = type.StartsWith("sentence_transformers.models.", StringComparison.Ordinal) ? type["sentence_transformers.models.".Length..] : type;
            switch (shortType)
            {
                case "Transformer" when i == 0:
                    if (path.Length != 0)
                        throw new CheckpointException(modulesPath, $"modules[0] (Transformer) has path '{path}'; only a Transformer stored in the model directory itself is supported.");
                    sawTransformer = true;
                    break;
                case "Pooling" when sawTransformer && pooling is null:
                    if (path.Length == 0 || Path.IsPathRooted(path) || path.Split('/', '\\').Contains(".."))
                        throw new CheckpointException(modulesPath, $"modules[{i}] (Pooling) has path '{path}', which is not a folder inside the model directory.");
                    var poolingConfig = Path.Combine(directory, path, "config.json");
                    if (!File.Exists(poolingConfig))
                        throw new CheckpointException(poolingConfig, $"not found: {Path.GetFileName(modulesPath)} names '{path}' as modules[{i}] (Pooling), and the folder has no config.json.");
                    (pooling, includePrompt) = JsonFields.ReadFile(poolingConfig, fields => ReadPooling(fields, hiddenSize));
                    break;
                case "Normalize" when pooling is not null && i == modules.Count - 1:
                    normalize = true;
                    break;
                default:
                    throw new CheckpointException(modulesPath,
                        $"modules[{i}] is '{type}' at this position; the library applies Transformer, then Pooling, then optionally Normalize, and cannot apply this module.");
            }
        }
        if (pooling is null)
            throw new CheckpointException(modulesPath, "lists no Pooling module after the Transformer.");
        return new DeclaredEmbeddingSettings { PoolingMode = pooling, IncludePrompt = includePrompt, Normalize = normalize };
    }

    private static (string Mode, bool IncludePrompt) ReadPooling(JsonFields fields, int hiddenSize)
    {
        var dimension = fields.OptionalPositiveInt("word_embedding_dimension");
        if (dimension is not null && dimension != hiddenSize)
            throw fields.Error("word_embedding_dimension", $"is {dimension}, but the model's hidden size is {hiddenSize}.");
        var modes = new List<string>();
        foreach (var (key, mode) in new[]
                 {
                     ("pooling_mode_cls_token", "cls"), ("pooling_mode_mean_tokens", "mean"), ("pooling_mode_max_tokens", "max"),
                     ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"), ("pooling_mode_weightedmean_tokens", "weightedmean"),
                     ("pooling_mode_lasttoken", "lasttoken"),
                 })
        {
            if (fields.OptionalBool(key) == true)
                modes.Add(mode);
        }
        // Newer sentence-transformers may write the mode by name.
        if (fields.OptionalString("pooling_mode") is { } named)
            modes.Add(named is "mean_tokens" ? "mean" : named is "cls_token" ? "cls" : named);
        if (modes.Distinct().Count() != 1)
        {
            throw fields.Error(modes.Count == 0
                ? "names no pooling mode."
                : $"names {modes.Count} pooling modes ({string.Join(", ", modes)}); the library implements exactly one: lasttoken, mean or weightedmean.");
        }
        var chosen = modes[0];
        if (chosen is not ("lasttoken" or "mean" or "weightedmean"))
            throw fields.Error($"names pooling mode '{chosen}', which the library does not implement (lasttoken, mean, weightedmean).");
        var includePrompt = fields.OptionalBool("include_prompt") ?? true;
        if (!includePrompt && chosen != "lasttoken")
            throw fields.Error("include_prompt", "is false, which is not supported for mean poolings (prompt tokens would have to be excluded from the mean).");
        return (chosen, includePrompt);
    }

    private static DeclaredEmbeddingSettings ReadPrompts(JsonFields fields, DeclaredEmbeddingSettings settings)
    {
        var prompts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (fields.OptionalObject("prompts") is { } promptFields)
        {
            foreach (var name in promptFields.Keys)
                prompts[name] = promptFields.OptionalString(name) ?? throw promptFields.Error(name, "must be a string, not null.");
        }
        var defaultName = fields.OptionalString("default_prompt_name");
        if (defaultName is not null && !prompts.ContainsKey(defaultName))
            throw fields.Error("default_prompt_name", $"'{defaultName}' is not one of the prompts ({string.Join(", ", prompts.Keys)}).");
        return settings with { Prompts = prompts, DefaultPromptName = defaultName, SimilarityFunction = fields.OptionalString("similarity_fn_name") };
    }
}
