using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// <see cref="IEmbeddingModel"/> over a decoder checkpoint of any supported family (Mistral, Qwen2, Qwen3, Llama).
/// Load once with <see cref="Load"/>; derive views with other pooling or prompt settings via
/// <see cref="WithOptions"/>, which share the weights.
/// </summary>
public sealed class EmbeddingModel : IEmbeddingModel
{
    private readonly SharedDecoder shared;
    private readonly EmbeddingOptions options;
    private readonly bool? parseSpecialTokens;
    private readonly BatchSettings settings;
    private int disposed;

    // False for the views that dependency injection hands out: they hold no reference, so Dispose does nothing.
    private bool ownsReference = true;

    private EmbeddingModel(SharedDecoder shared, EmbeddingOptions requested, string modelId)
    {
        var errors = requested.Validate();
        if (errors.Count > 0)
            throw new ArgumentException("Invalid embedding options: " + string.Join(" ", errors), nameof(requested));
        var config = shared.Decoder.Config;
        var declared = shared.Declared;
        var resolved = DeclaredDefaults.Resolve(requested, config, declared);
        var pooling = resolved.Pooling!;
        if (pooling.Layer is { } layer && (layer < 0 || layer > config.NumHiddenLayers))
            throw new ArgumentOutOfRangeException(nameof(requested), layer, $"Pooling layer must lie in [0, {config.NumHiddenLayers}] for this model.");
        if (pooling is LastTokenLogitsPooling or TokenLogitsPooling && !shared.Decoder.HasLanguageModelHead)
            throw new InvalidOperationException(
                $"'{modelId}' is a bare {config.Family}Model checkpoint without lm_head; last-token-logits pooling needs a {config.Family}ForCausalLM checkpoint.");
        var pooledDimension = pooling.OutputDimension(config);
        if (resolved.Dimensions > pooledDimension)
            throw new ArgumentOutOfRangeException(nameof(requested), resolved.Dimensions, $"Dimensions exceeds the {pooledDimension} that {pooling.Name} pooling produces.");
        var fixedTokens = Math.Max(resolved.Prompt!.GetFixedTokenCount(shared.Tokenizer, TextRole.Query), resolved.Prompt.GetFixedTokenCount(shared.Tokenizer, TextRole.Document));
        MaxTokens = resolved.MaxTokens!.Value;
        if (MaxTokens <= fixedTokens)
            throw new ArgumentOutOfRangeException(nameof(requested), MaxTokens, $"MaxTokens must exceed the {fixedTokens} tokens the {resolved.Prompt.Name} format adds.");

        this.shared = shared;
        options = resolved;
        parseSpecialTokens = resolved.SpecialTokens switch { SpecialTokenPolicy.Parse => true, SpecialTokenPolicy.AsText => false, _ => null };
        settings = new BatchSettings(pooling, resolved.Dimensions, resolved.Normalize!.Value, resolved.MaxBatchTokens, resolved.MaxBatchSize);
        ModelId = modelId;
        Dimensions = resolved.Dimensions ?? pooledDimension;
    }

    /// <summary>
    /// Loads config, tokenizer (<c>tokenizer.model</c>, else <c>tokenizer.json</c>), the sentence-transformers files
    /// (when present) and the weights from a Hugging Face model directory, or from the Hugging Face cache for a model
    /// id such as <c>Qwen/Qwen3-Embedding-0.6B</c> (downloaded first when missing, unless offline).
    /// </summary>
    /// <param name="modelDirectoryOrId">A directory with config.json, a tokenizer and safetensors weights, or a hub id <c>ORG/NAME</c>; an existing directory always wins.</param>
    /// <param name="options">Embedding settings; unset ones take the declared settings, then the defaults. Copied.</param>
    /// <param name="loadOptions">Dtype, device, hub settings and model id; defaults when <see langword="null"/>.</param>
    /// <exception cref="CheckpointException">A file is missing, malformed, inconsistent or unsupported.</exception>
    /// <exception cref="Hub.HubException">A hub id cannot be resolved (not found, gated, offline and not cached, ...).</exception>
    public static EmbeddingModel Load(string modelDirectoryOrId, EmbeddingOptions? options = null, ModelLoadOptions? loadOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectoryOrId);
        var directory = Hub.HuggingFaceHub.IsHubModelReference(modelDirectoryOrId)
            ? Hub.HuggingFaceHub.ResolveModelDirectoryAsync(modelDirectoryOrId, loadOptions?.Hub ?? Hub.HubOptions.FromEnvironment()).GetAwaiter().GetResult()
            : modelDirectoryOrId;
        return LoadDirectory(directory, modelDirectoryOrId, options, loadOptions);
    }

    /// <summary>As <see cref="Load"/>, downloading a hub model's missing files asynchronously with progress.</summary>
    /// <param name="modelDirectoryOrId">A directory, or a hub id <c>ORG/NAME</c>; an existing directory always wins.</param>
    /// <param name="options">Embedding settings; unset ones take the declared settings, then the defaults. Copied.</param>
    /// <param name="loadOptions">Dtype, device, hub settings and model id; defaults when <see langword="null"/>.</param>
    /// <param name="progress">Receives download progress of a hub model's files.</param>
    /// <param name="cancellationToken">Cancels the download (finished files stay in the cache); loading itself is not interrupted.</param>
    /// <exception cref="CheckpointException">A file is missing, malformed, inconsistent or unsupported.</exception>
    /// <exception cref="Hub.HubException">A hub id cannot be resolved.</exception>
    public static async Task<EmbeddingModel> LoadAsync(string modelDirectoryOrId, EmbeddingOptions? options = null, ModelLoadOptions? loadOptions = null,
        IProgress<Hub.HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectoryOrId);
        var directory = await Hub.HuggingFaceHub.ResolveModelDirectoryAsync(modelDirectoryOrId, loadOptions?.Hub ?? Hub.HubOptions.FromEnvironment(), progress, cancellationToken)
            .ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.Run(() => LoadDirectory(directory, modelDirectoryOrId, options, loadOptions), cancellationToken).ConfigureAwait(false);
    }

    private static EmbeddingModel LoadDirectory(string modelDirectory, string requested, EmbeddingOptions? options, ModelLoadOptions? loadOptions)
    {
        if (!Directory.Exists(modelDirectory))
            throw new CheckpointException(modelDirectory, "model directory not found.");
        var config = DecoderConfig.Load(Path.Combine(modelDirectory, "config.json"));
        var tokenizer = ModelTokenizer.Load(modelDirectory);
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new CheckpointException(tokenizer.SourcePath,
                $"the tokenizer has {tokenizer.VocabularySize} tokens but config.json's vocab_size is {config.VocabSize}; they belong to different models.");
        var declared = DeclaredEmbeddingSettings.Read(modelDirectory, config.HiddenSize);
        var decoder = DecoderLoader.Load(modelDirectory, loadOptions?.Clone() ?? new ModelLoadOptions(), config);
        var shared = new SharedDecoder(decoder, tokenizer, declared);
        try
        {
            // A hub id, or a directory inside a hub-cache snapshot, reports ORG/NAME; other directories their name.
            var modelId = loadOptions?.ModelId ?? Hub.HuggingFaceHub.GetDisplayModelId(Hub.HuggingFaceHub.IsHubModelReference(requested) ? requested : modelDirectory);
            return new EmbeddingModel(shared, (options ?? new EmbeddingOptions()).Clone(), modelId);
        }
        catch
        {
            shared.Release();
            throw;
        }
    }

    /// <inheritdoc />
    public string ModelId { get; }

    /// <inheritdoc />
    public int Dimensions { get; }

    /// <inheritdoc />
    public int MaxTokens { get; }

    /// <inheritdoc />
    public IPoolingStrategy Pooling => options.Pooling!;

    /// <inheritdoc />
    public PromptFormat Prompt => options.Prompt!;

    /// <inheritdoc />
    public bool Normalize => options.Normalize!.Value;

    /// <summary>The checkpoint's architecture.</summary>
    public DecoderConfig Config => shared.Decoder.Config;

    /// <summary>Where the weights came from, and the compute dtype chosen.</summary>
    public CheckpointInfo Checkpoint => shared.Decoder.Checkpoint;

    /// <summary>What the checkpoint's sentence-transformers files declare; <see langword="null"/> when it has none.</summary>
    public DeclaredEmbeddingSettings? DeclaredSettings => shared.Declared;

    /// <summary>The tokenizer.</summary>
    public ModelTokenizer Tokenizer => shared.Tokenizer;

    /// <summary>
    /// Another view of the same loaded weights with different embedding settings (pooling, prompt, ...).
    /// Dispose it like any model; the weights are freed when the last view is disposed.
    /// </summary>
    /// <param name="newOptions">The settings of the new view. Copied.</param>
    public EmbeddingModel WithOptions(EmbeddingOptions newOptions)
    {
        ArgumentNullException.ThrowIfNull(newOptions);
        Acquire();
        try
        {
            return new EmbeddingModel(shared, newOptions.Clone(), ModelId);
        }
        catch
        {
            shared.Release();
            throw;
        }
    }

    /// <summary>
    /// A view with this view's settings that holds no reference to the weights: its <see cref="Dispose"/> does nothing,
    /// and it works while another view keeps the weights loaded (afterwards calls throw <see cref="ObjectDisposedException"/>).
    /// Dependency injection resolves these, so that no consumer can end the life of a model the container owns.
    /// </summary>
    internal EmbeddingModel CreateNonOwningView()
    {
        Acquire();
        try
        {
            return new EmbeddingModel(shared, options.Clone(), ModelId) { ownsReference = false };
        }
        finally
        {
            shared.Release();
        }
    }

    /// <summary>A copy of this view's settings, with the declared or default values filled in.</summary>
    public EmbeddingOptions GetOptions() => options.Clone();

    /// <inheritdoc />
    public int[] Tokenize(string text, TextRole role = TextRole.Query) =>
        Tokenize(text, role == TextRole.Query ? EmbeddingCallOptions.Query : EmbeddingCallOptions.Document);

    /// <inheritdoc />
    public int[] Tokenize(string text, EmbeddingCallOptions call)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        return BuildPrompts([text], call, CancellationToken.None, forEmbedding: false).Ids[0];
    }

    /// <inheritdoc />
    public async Task<TextEmbedding> EmbedAsync(string text, TextRole role = TextRole.Query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var results = await EmbedAsync([text], role, null, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, TextRole role = TextRole.Query,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmbedAsync(texts, role == TextRole.Query ? EmbeddingCallOptions.Query : EmbeddingCallOptions.Document, progress, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, EmbeddingCallOptions call,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ValidateTexts(texts);
        ArgumentNullException.ThrowIfNull(call);
        Acquire();
        try
        {
            // Tokenising many texts is real work: keep it off the caller's thread.
            var prompts = texts.Count <= 16
                ? BuildPrompts(texts, call, cancellationToken)
                : await Task.Run(() => BuildPrompts(texts, call, cancellationToken), cancellationToken).ConfigureAwait(false);
            var vectors = await shared.Scheduler.Submit(prompts.Ids, settings, this, progress, cancellationToken).ConfigureAwait(false);
            return Results(prompts, vectors);
        }
        finally
        {
            shared.Release();
        }
    }

    /// <summary>
    /// Synchronous <see cref="EmbedAsync(IReadOnlyList{string}, TextRole, IProgress{EmbeddingProgress}?, CancellationToken)"/>:
    /// tokenises on the calling thread, then waits for the forward passes.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="role">Query or document.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Removes the call's remaining texts from the queue.</param>
    public IReadOnlyList<TextEmbedding> Embed(IReadOnlyList<string> texts, TextRole role = TextRole.Query,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Embed(texts, role == TextRole.Query ? EmbeddingCallOptions.Query : EmbeddingCallOptions.Document, progress, cancellationToken);

    /// <summary>Synchronous <see cref="EmbedAsync(IReadOnlyList{string}, EmbeddingCallOptions, IProgress{EmbeddingProgress}?, CancellationToken)"/>.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="call">Role, instruction, prompt and truncation of this call.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Removes the call's remaining texts from the queue.</param>
    public IReadOnlyList<TextEmbedding> Embed(IReadOnlyList<string> texts, EmbeddingCallOptions call,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ValidateTexts(texts);
        ArgumentNullException.ThrowIfNull(call);
        Acquire();
        try
        {
            var prompts = BuildPrompts(texts, call, cancellationToken);
            var vectors = shared.Scheduler.Submit(prompts.Ids, settings, this, progress, cancellationToken).GetAwaiter().GetResult();
            return Results(prompts, vectors);
        }
        finally
        {
            shared.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TextEmbedding>> EmbedTokenIdsAsync(IReadOnlyList<IReadOnlyList<int>> ids,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var vocabulary = Config.VocabSize;
        var sequences = new int[ids.Count][];
        var truncated = new bool[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var sequence = ids[i] ?? throw new ArgumentNullException(nameof(ids), $"ids[{i}] is null.");
            if (sequence.Count == 0)
                throw new ArgumentException($"ids[{i}] is empty.", nameof(ids));
            foreach (var id in sequence)
            {
                if (id < 0 || id >= vocabulary)
                    throw new ArgumentOutOfRangeException(nameof(ids), id, $"ids[{i}] holds {id}, outside the vocabulary [0, {vocabulary}).");
            }
            if (sequence.Count > MaxTokens && options.Truncation == TruncationPolicy.Throw)
                throw new InputTooLongException(sequence.Count, MaxTokens, nameof(ids));
            truncated[i] = sequence.Count > MaxTokens;
            sequences[i] = [.. sequence.Take(MaxTokens)];
        }
        Acquire();
        try
        {
            var vectors = await shared.Scheduler.Submit(sequences, settings, this, progress, cancellationToken).ConfigureAwait(false);
            return Results((sequences, truncated), vectors);
        }
        finally
        {
            shared.Release();
        }
    }

    /// <summary>The loaded decoder (for benchmarks and diagnostics).</summary>
    internal DecoderForCausalLM Decoder => shared.Decoder;

    /// <summary>Calls waiting for or in a forward pass, over every view of this checkpoint.</summary>
    internal int QueuedRequests => shared.Scheduler.QueuedRequests;

    /// <summary>Forward passes run so far, over every view of this checkpoint.</summary>
    internal long ForwardPasses => shared.Scheduler.ForwardPasses;

    /// <summary>
    /// Embeds texts given directly as token ids (prompt formatting and truncation skipped), batched exactly as
    /// <see cref="Embed(IReadOnlyList{string}, EmbeddingCallOptions, IProgress{EmbeddingProgress}?, CancellationToken)"/> batches; for benchmarks that need exact token counts.
    /// </summary>
    internal float[][] EmbedTokenIds(IReadOnlyList<int[]> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        Acquire();
        try
        {
            return shared.Scheduler.Submit([.. ids], settings, this, progress: null, CancellationToken.None).GetAwaiter().GetResult();
        }
        finally
        {
            shared.Release();
        }
    }

    private (int[][] Ids, bool[] Truncated) BuildPrompts(IReadOnlyList<string> texts, EmbeddingCallOptions call, CancellationToken cancellationToken, bool forEmbedding = true)
    {
        var format = FormatFor(call);
        var policy = call.Truncation ?? options.Truncation;
        var ids = new int[texts.Count][];
        var truncated = new bool[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ids[i] = format.BuildIds(shared.Tokenizer, texts[i], call.Role, MaxTokens, policy, call.TruncationDirection, parseSpecialTokens, out truncated[i]);
            if (forEmbedding && ids[i].Length == 0)
                throw new ArgumentException($"texts[{i}] is empty and the '{format.Name}' format adds no tokens for it, so there is nothing to embed (this tokenizer adds no BOS).", nameof(texts));
        }
        return (ids, truncated);
    }

    /// <summary>The prompt format of a call: the view's, with the call's instruction or declared prompt.</summary>
    private PromptFormat FormatFor(EmbeddingCallOptions call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!Enum.IsDefined(call.TruncationDirection))
            throw new ArgumentOutOfRangeException(nameof(call), call.TruncationDirection, "Unknown truncation direction.");
        if (call.PromptName is { } name)
        {
            if (call.Instruction is not null)
                throw new ArgumentException("A call names either a declared prompt or an instruction, not both.", nameof(call));
            var prompts = shared.Declared?.Prompts ?? new Dictionary<string, string>();
            if (!prompts.TryGetValue(name, out var prompt))
            {
                throw new ArgumentException(prompts.Count == 0
                    ? $"'{ModelId}' declares no prompts, so prompt '{name}' does not exist."
                    : $"'{ModelId}' declares no prompt '{name}'; it declares: {string.Join(", ", prompts.Keys)}.", nameof(call));
            }
            return PromptFormat.FromPrompts(prompt, prompt, name);
        }
        return call.Instruction is { } instruction ? Prompt.WithInstruction(instruction) : Prompt;
    }

    private static TextEmbedding[] Results((int[][] Ids, bool[] Truncated) prompts, float[][] vectors)
    {
        var results = new TextEmbedding[vectors.Length];
        for (var i = 0; i < results.Length; i++)
            results[i] = new TextEmbedding(vectors[i], prompts.Ids[i].Length, prompts.Truncated[i]);
        return results;
    }

    private static void ValidateTexts(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
                throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null.");
        }
    }

    private void Acquire()
    {
        if (Volatile.Read(ref disposed) != 0 || !shared.TryAcquire())
            throw new ObjectDisposedException(nameof(EmbeddingModel));
    }

    /// <summary>
    /// Releases this view: its calls still queued fail with <see cref="ObjectDisposedException"/>, a call in a forward
    /// pass finishes, and the weights are freed once no view or running call uses them. On a model resolved from
    /// dependency injection this does nothing: the container owns that model and disposes it.
    /// </summary>
    public void Dispose()
    {
        if (!ownsReference || Interlocked.Exchange(ref disposed, 1) != 0)
            return;
        shared.Scheduler.FailQueued(this);
        shared.Release();
    }
}
