using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>Grouped-query self-attention with rotary positions and a sliding window (via the mask).</summary>
public sealed class MistralAttention : nn.Module<Tensor, AttentionInputs, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    internal MistralAttention(MistralConfig config, WeightSource weights) : base(nameof(MistralAttention))
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        long hidden = config.HiddenSize, q = heads * headDim, kv = kvHeads * headDim;
        q_proj = weights.Linear("q_proj", q, hidden);
        k_proj = weights.Linear("k_proj", kv, hidden);
        v_proj = weights.Linear("v_proj", kv, hidden);
        o_proj = weights.Linear("o_proj", hidden, q);
        RegisterComponents();
    }

    /// <summary>Attends over <paramref name="hidden"/> [batch, seq, hidden].</summary>
    /// <param name="hidden">Normalised hidden states.</param>
    /// <param name="inputs">Rotary tables and mask shared by all layers.</param>
    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1];
        var q = q_proj.forward(hidden).view(batch, length, heads, headDim).transpose(1, 2);
        var k = k_proj.forward(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        var v = v_proj.forward(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        q = MistralRotaryEmbedding.Apply(q, inputs.Cos, inputs.Sin);
        k = MistralRotaryEmbedding.Apply(k, inputs.Cos, inputs.Sin);
        if (heads != kvHeads)
        {
            // TorchSharp's SDPA has no GQA flag: each KV head serves heads/kvHeads consecutive query heads.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = inputs.Mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, inputs.Mask);
        var merged = attended.transpose(1, 2).reshape(batch, length, heads * headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
