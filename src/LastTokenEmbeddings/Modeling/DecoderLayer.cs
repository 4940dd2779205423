using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>One pre-norm transformer block: attention then MLP, each with a residual connection.</summary>
internal sealed class DecoderLayer : nn.Module<Tensor, AttentionInputs, Tensor>
{
    private readonly RmsNorm input_layernorm;
    private readonly DecoderAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly DecoderMLP mlp;

    public DecoderLayer(DecoderConfig config, int layerIndex, WeightSource weights) : base(nameof(DecoderLayer))
    {
        input_layernorm = weights.RmsNorm("input_layernorm", config.HiddenSize, config.RmsNormEps);
        self_attn = new DecoderAttention(config, config.LayerSlidingWindows[layerIndex], weights.Scope("self_attn"));
        post_attention_layernorm = weights.RmsNorm("post_attention_layernorm", config.HiddenSize, config.RmsNormEps);
        mlp = new DecoderMLP(config, weights.Scope("mlp"));
        RegisterComponents();
    }

    /// <summary>Runs the block on [batch, seq, hidden].</summary>
    /// <param name="hidden">Residual stream.</param>
    /// <param name="inputs">Rotary tables and masks shared by all layers.</param>
    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        // Residuals are added into the sublayer outputs (which this layer owns) to avoid another activation-sized buffer.
        var afterAttention = self_attn.forward(input_layernorm.forward(hidden), inputs).add_(hidden, Scalars.One);
        var output = mlp.forward(post_attention_layernorm.forward(afterAttention)).add_(afterAttention, Scalars.One);
        return output.MoveToOuterDisposeScope();
    }
}
