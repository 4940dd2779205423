using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Grouped-query self-attention with rotary positions, shared by every family. The family differences are named
/// fields: q/k/v (and o) biases (Qwen2; <c>attention_bias</c> of Qwen3 and Llama), <c>q_norm</c>/<c>k_norm</c> over each
/// head before rotary (Qwen3), and a sliding window on some or all layers (Mistral, Qwen with <c>use_sliding_window</c>).
/// </summary>
internal sealed class DecoderAttention : nn.Module<Tensor, AttentionInputs, Tensor>
{
    private readonly ProjectionLinear q_proj;
    private readonly ProjectionLinear k_proj;
    private readonly ProjectionLinear v_proj;
    private readonly ProjectionLinear o_proj;
    private readonly RmsNorm? q_norm;
    private readonly RmsNorm? k_norm;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;
    private readonly int? slidingWindow;

    public DecoderAttention(DecoderConfig config, int? slidingWindow, WeightSource weights) : base(nameof(DecoderAttention))
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        this.slidingWindow = slidingWindow;
        long hidden = config.HiddenSize, q = heads * headDim, kv = kvHeads * headDim;
        q_proj = weights.Projection("q_proj", q, hidden, config.AttentionQkvBias);
        k_proj = weights.Projection("k_proj", kv, hidden, config.AttentionQkvBias);
        v_proj = weights.Projection("v_proj", kv, hidden, config.AttentionQkvBias);
        o_proj = weights.Projection("o_proj", hidden, q, config.AttentionOutputBias);
        if (config.QkNorm)
        {
            q_norm = weights.RmsNorm("q_norm", headDim, config.RmsNormEps);
            k_norm = weights.RmsNorm("k_norm", headDim, config.RmsNormEps);
        }
        RegisterComponents();
    }

    /// <summary>Attends over <paramref name="hidden"/> [batch, seq, hidden].</summary>
    /// <param name="hidden">Normalised hidden states.</param>
    /// <param name="inputs">Rotary tables and masks shared by all layers.</param>
    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1];
        var q = q_proj.forward(hidden).view(batch, length, heads, headDim);
        var k = k_proj.forward(hidden).view(batch, length, kvHeads, headDim);
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        var v = v_proj.forward(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q.transpose(1, 2), inputs.Cos, inputs.Sin);
        k = RotaryEmbedding.Apply(k.transpose(1, 2), inputs.Cos, inputs.Sin);
        if (heads != kvHeads)
        {
            // TorchSharp's SDPA has no GQA flag: each KV head serves heads/kvHeads consecutive query heads.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        Tensor attended;
        if (inputs.IsPlainCausal(slidingWindow))
            attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        else if (inputs.QueryBlock is { } block)
            attended = AttendInBlocks(q, k, v, inputs.Segments, block);
        else
            attended = nn.functional.scaled_dot_product_attention(q, k, v, inputs.MaskFor(slidingWindow));
        var merged = attended.transpose(1, 2).reshape(batch, length, heads * headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Masked attention one block of queries at a time: each block attends only the keys its window can reach, with
    /// a mask built for that block, so nothing [seq, seq]-sized is ever allocated. Same result as the whole mask.
    /// </summary>
    private Tensor AttendInBlocks(Tensor q, Tensor k, Tensor v, Tensor segments, int block)
    {
        var length = q.shape[2];
        var outputs = new List<Tensor>();
        for (long start = 0; start < length; start += block)
        {
            var end = Math.Min(start + block, length);
            var keyStart = slidingWindow is { } window ? Math.Max(0, start - window + 1) : 0;
            using var scope = NewDisposeScope();
            var mask = AttentionMask.Block(segments, start, end, keyStart, end, slidingWindow);
            var queries = q[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(start, end)];
            var keys = k[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(keyStart, end)];
            var values = v[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(keyStart, end)];
            outputs.Add(nn.functional.scaled_dot_product_attention(queries, keys, values, mask).MoveToOuterDisposeScope());
        }
        return cat(outputs, dim: 2);
    }
}
