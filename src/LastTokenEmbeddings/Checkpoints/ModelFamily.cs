namespace LastTokenEmbeddings.Checkpoints;

/// <summary>The decoder families the library runs. They share one decoder; each differs in a few named details.</summary>
public enum ModelFamily
{
    /// <summary>Mistral (<c>model_type: mistral</c>): sliding-window attention on every layer, no biases.</summary>
    Mistral,

    /// <summary>Qwen2 (<c>qwen2</c>; gte-Qwen2, stella): biases on the q/k/v projections; optional sliding window on upper layers.</summary>
    Qwen2,

    /// <summary>Qwen3 (<c>qwen3</c>; Qwen3-Embedding, Qwen3-Reranker): RMSNorm over each query and key head before rotary; explicit <c>head_dim</c>.</summary>
    Qwen3,

    /// <summary>Llama (<c>llama</c>): optional attention and MLP biases; <c>llama3</c> rotary scaling.</summary>
    Llama,
}

/// <summary>How layers choose sliding-window attention when <c>layer_types</c> is absent.</summary>
internal enum SlidingWindowRule
{
    /// <summary>No sliding window exists in this family's configuration.</summary>
    None,

    /// <summary><c>sliding_window</c> (default 4096; null disables it) applies to every layer (Mistral).</summary>
    EveryLayer,

    /// <summary>
    /// Qwen2/Qwen3: only with <c>use_sliding_window: true</c>, then on layers at or above <c>max_window_layers</c>
    /// (default 28), as transformers' <c>Qwen2Config.__post_init__</c> derives <c>layer_types</c>.
    /// </summary>
    UpperLayersWhenEnabled,
}

/// <summary>
/// What distinguishes a family from the shared decoder, in the spirit of transformers' modular files
/// (<c>modular_qwen3.py</c> is Llama attention plus q/k norms, and so on).
/// </summary>
/// <param name="Family">The family.</param>
/// <param name="ModelType">Its <c>model_type</c>.</param>
/// <param name="QkvBias">q/k/v projections always carry a bias (Qwen2).</param>
/// <param name="AttentionBiasField">Honours <c>attention_bias</c> (biases on q/k/v/o).</param>
/// <param name="MlpBiasField">Honours <c>mlp_bias</c> (biases on gate/up/down).</param>
/// <param name="QkNorm">RMSNorm <c>q_norm</c>/<c>k_norm</c> over each head, after projection and before rotary.</param>
/// <param name="DefaultHeadDim">The <c>head_dim</c> when absent; <see langword="null"/> means <c>hidden_size / num_attention_heads</c>.</param>
/// <param name="SlidingWindow">How windowed layers are chosen.</param>
internal sealed record FamilyTraits(
    ModelFamily Family,
    string ModelType,
    bool QkvBias,
    bool AttentionBiasField,
    bool MlpBiasField,
    bool QkNorm,
    int? DefaultHeadDim,
    SlidingWindowRule SlidingWindow)
{
    public static readonly FamilyTraits Mistral = new(ModelFamily.Mistral, "mistral", QkvBias: false, AttentionBiasField: false, MlpBiasField: false, QkNorm: false, DefaultHeadDim: null, SlidingWindowRule.EveryLayer);

    public static readonly FamilyTraits Qwen2 = new(ModelFamily.Qwen2, "qwen2", QkvBias: true, AttentionBiasField: false, MlpBiasField: false, QkNorm: false, DefaultHeadDim: null, SlidingWindowRule.UpperLayersWhenEnabled);

    public static readonly FamilyTraits Qwen3 = new(ModelFamily.Qwen3, "qwen3", QkvBias: false, AttentionBiasField: true, MlpBiasField: false, QkNorm: true, DefaultHeadDim: 128, SlidingWindowRule.UpperLayersWhenEnabled);

    public static readonly FamilyTraits Llama = new(ModelFamily.Llama, "llama", QkvBias: false, AttentionBiasField: true, MlpBiasField: true, QkNorm: false, DefaultHeadDim: null, SlidingWindowRule.None);

    public static IReadOnlyList<FamilyTraits> All { get; } = [Mistral, Qwen2, Qwen3, Llama];

    /// <summary>The class name of the family's decoder with LM head, e.g. <c>Qwen3ForCausalLM</c>.</summary>
    public string CausalLMArchitecture => $"{Family}ForCausalLM";

    /// <summary>The class name of the bare decoder, e.g. <c>Qwen3Model</c>.</summary>
    public string BaseModelArchitecture => $"{Family}Model";
}
