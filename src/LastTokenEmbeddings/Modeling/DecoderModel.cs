using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// The decoder stack without LM head (transformers' <c>MistralModel</c>, <c>Qwen3Model</c>, <c>LlamaModel</c>, ...):
/// token embedding, decoder layers and final norm, with tensor names matching the checkpoint.
/// </summary>
internal sealed class DecoderModel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly TokenEmbedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly RotaryEmbedding rotary_emb;
    private readonly DecoderConfig config;
    private readonly ScalarType dtype;
    private readonly int[] distinctWindows;

    public DecoderModel(DecoderConfig config, WeightSource weights) : base(nameof(DecoderModel))
    {
        this.config = config;
        var embedding = weights.Take("embed_tokens.weight", config.VocabSize, config.HiddenSize);
        dtype = embedding.dtype;
        embed_tokens = new TokenEmbedding(embedding);
        layers = new ModuleList<DecoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
            layers.Add(new DecoderLayer(config, i, weights.Scope($"layers.{i}")));
        norm = weights.RmsNorm("norm", config.HiddenSize, config.RmsNormEps);
        rotary_emb = new RotaryEmbedding(config.HeadDim, config.Rope, weights.Device);
        distinctWindows = config.LayerSlidingWindows.OfType<int>().Distinct().ToArray();
        RegisterComponents();
    }

    /// <summary>The architecture this stack was built for.</summary>
    public DecoderConfig Config => config;

    /// <summary>The dtype weights and activations are computed in.</summary>
    public ScalarType DType => dtype;

    /// <summary>The device weights live on.</summary>
    public Device Device => embed_tokens.Weight.device;

    /// <summary>The token embedding matrix [vocab, hidden] (the LM head when embeddings are tied).</summary>
    internal Tensor EmbeddingWeight => embed_tokens.Weight;

    /// <summary>Final (normed) hidden states [batch, seq, hidden].</summary>
    /// <param name="inputIds">Token ids [batch, seq] (int64).</param>
    /// <param name="attentionMask">[batch, seq], nonzero/True for real tokens, zero for padding on either side.</param>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask) => Forward(inputIds, attentionMask, config.NumHiddenLayers);

    /// <summary>
    /// Hidden states of layer <paramref name="outputLayer"/>, indexed like transformers' <c>hidden_states</c>:
    /// 0 is the embedding output, k the output of decoder layer k-1, and <c>num_hidden_layers</c> the final normed
    /// output. Layers past the requested one are not computed.
    /// </summary>
    /// <param name="inputIds">Token ids [batch, seq] (int64).</param>
    /// <param name="attentionMask">
    /// [batch, seq]: zero/False for padding (on either side), nonzero/True for real tokens. Integer labels 1, 2, ...
    /// pack several sequences into one row: a token attends only earlier tokens with the same label, and positions
    /// restart at 0 for each label. Each label's tokens must form one contiguous run.
    /// </param>
    /// <param name="outputLayer">Which hidden state to return, 0..num_hidden_layers.</param>
    /// <returns>[batch, seq, hidden] in the compute dtype.</returns>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, int outputLayer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outputLayer);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(outputLayer, config.NumHiddenLayers);
        ValidateInputs(inputIds, attentionMask);
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var ids = inputIds.to(Device);
        var segments = attentionMask.to(Device).to(ScalarType.Int64);
        var hidden = embed_tokens.forward(ids);
        if (outputLayer == 0)
            return hidden.MoveToOuterDisposeScope();

        var positions = PositionsWithinSequences(segments);
        var (cos, sin) = rotary_emb.Forward(positions, dtype);
        var inputs = BuildAttentionInputs(segments, cos, sin);
        for (var i = 0; i < outputLayer; i++)
        {
            var next = layers[i].forward(hidden, inputs);
            hidden.Dispose(); // free each layer's input now, not when the forward ends: peak memory stays one layer deep
            hidden = next;
        }
        if (outputLayer == config.NumHiddenLayers)
            hidden = norm.forward(hidden);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each token's position within its own sequence: padding never shifts positions (a left-padded text gets the
    /// positions it has alone), and every text packed into a row starts again at 0.
    /// </summary>
    private static Tensor PositionsWithinSequences(Tensor segments)
    {
        using var scope = NewDisposeScope();
        var real = segments.ne(Scalars.Zero);
        var counted = real.to(ScalarType.Int64).cumsum(1);
        var previous = nn.functional.pad(segments, [1, 0])[TensorIndex.Colon, TensorIndex.Slice(0, -1)];
        var starts = real.logical_and(segments.ne(previous));
        var countBeforeStart = where(starts, counted - Scalars.One, zeros_like(counted)).cummax(1).Item1;
        return (counted - Scalars.One - countBeforeStart).clamp_min_(Scalars.Zero).MoveToOuterDisposeScope();
    }

    /// <summary>Sequences longer than this attend in query blocks when they need a mask (see <see cref="AttentionInputs.QueryBlock"/>).</summary>
    internal static int BlockedAttentionThreshold { get; set; } = 2048;

    /// <summary>Query block of long masked attention: its mask and scores are [block, window + block], not [seq, seq].</summary>
    internal static int AttentionQueryBlock { get; set; } = 512;

    /// <summary>
    /// The masks the layers need. Plain causal SDPA (no mask) is exact, and faster, for a layer whose window covers
    /// the sequence when each row holds one sequence and padding, if any, is on the right: real tokens then never
    /// see a padded key, as every pad comes after them. Short sequences get whole masks; long ones get none and
    /// attend block by block, so memory grows linearly with the length.
    /// </summary>
    private AttentionInputs BuildAttentionInputs(Tensor segments, Tensor cos, Tensor sin)
    {
        var length = segments.shape[1];
        var causalFriendly = IsCausalFriendly(segments);
        var windowMasks = new Dictionary<int, Tensor>();
        if (length > BlockedAttentionThreshold)
            return new AttentionInputs(cos, sin, segments, causalFriendly, null, windowMasks, AttentionQueryBlock);
        foreach (var window in distinctWindows)
        {
            if (length > window)
                windowMasks[window] = AttentionMask.Build(segments, window);
        }
        var fullLayersNeedMask = config.LayerSlidingWindows.Any(window => window is null || length <= window) && !causalFriendly;
        return new AttentionInputs(cos, sin, segments, causalFriendly, fullLayersNeedMask ? AttentionMask.Build(segments, slidingWindow: null) : null, windowMasks, null);
    }

    /// <summary>Whether every row holds one sequence, right-padded if at all.</summary>
    private static bool IsCausalFriendly(Tensor segments)
    {
        using var scope = NewDisposeScope();
        var length = segments.shape[1];
        var real = segments.ne(Scalars.Zero);
        var padThenReal = real[TensorIndex.Colon, TensorIndex.Slice(1)].logical_and(real[TensorIndex.Colon, TensorIndex.Slice(0, length - 1)].logical_not());
        return !padThenReal.any().item<bool>() && segments.max().item<long>() <= 1;
    }

    private void ValidateInputs(Tensor inputIds, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (inputIds.dim() != 2 || inputIds.shape[1] == 0)
            throw new ArgumentException($"inputIds must have shape [batch, seq] with seq > 0, not [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (inputIds.dtype != ScalarType.Int64 && inputIds.dtype != ScalarType.Int32)
            throw new ArgumentException($"inputIds must be int64 or int32, not {inputIds.dtype}.", nameof(inputIds));
        if (attentionMask.dtype is not (ScalarType.Bool or ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"attentionMask must be boolean or integer, not {attentionMask.dtype}.", nameof(attentionMask));
        if (!attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"attentionMask shape [{string.Join(", ", attentionMask.shape)}] differs from inputIds shape [{string.Join(", ", inputIds.shape)}].", nameof(attentionMask));
        var min = inputIds.min().item<long>();
        var max = inputIds.max().item<long>();
        if (min < 0 || max >= config.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(inputIds), $"token ids must lie in [0, {config.VocabSize}); found {(min < 0 ? min : max)}.");
    }
}
