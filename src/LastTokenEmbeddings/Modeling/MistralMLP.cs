using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>SwiGLU feed-forward block: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>.</summary>
public sealed class MistralMLP : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    internal MistralMLP(MistralConfig config, WeightSource weights) : base(nameof(MistralMLP))
    {
        gate_proj = weights.Linear("gate_proj", config.IntermediateSize, config.HiddenSize);
        up_proj = weights.Linear("up_proj", config.IntermediateSize, config.HiddenSize);
        down_proj = weights.Linear("down_proj", config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    /// <summary>Applies the block to [..., hidden].</summary>
    /// <param name="input">Normalised hidden states.</param>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(gate_proj.forward(input), inplace: true).mul_(up_proj.forward(input));
        return down_proj.forward(gated).MoveToOuterDisposeScope();
    }
}
