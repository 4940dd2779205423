using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>One pre-norm transformer block: attention then MLP, each with a residual connection.</summary>
public sealed class MistralDecoderLayer : nn.Module<Tensor, AttentionInputs, Tensor>
{
    private readonly MistralRMSNorm input_layernorm;
    private readonly MistralAttention self_attn;
    private readonly MistralRMSNorm post_attention_layernorm;
    private readonly MistralMLP mlp;

    internal MistralDecoderLayer(MistralConfig config, WeightSource weights) : base(nameof(MistralDecoderLayer))
    {
        input_layernorm = weights.RmsNorm("input_layernorm", config);
        self_attn = new MistralAttention(config, weights.Scope("self_attn"));
        post_attention_layernorm = weights.RmsNorm("post_attention_layernorm", config);
        mlp = new MistralMLP(config, weights.Scope("mlp"));
        RegisterComponents();
    }

    /// <summary>Runs the block on [batch, seq, hidden].</summary>
    /// <param name="hidden">Residual stream.</param>
    /// <param name="inputs">Rotary tables and mask shared by all layers.</param>
    public override Tensor forward(Tensor hidden, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        // Residuals are added into the sublayer outputs (which this layer owns) to avoid another activation-sized buffer.
        var afterAttention = self_attn.forward(input_layernorm.forward(hidden), inputs).add_(hidden, Scalars.One);
        var output = mlp.forward(post_attention_layernorm.forward(afterAttention)).add_(afterAttention, Scalars.One);
        return output.MoveToOuterDisposeScope();
    }
}
