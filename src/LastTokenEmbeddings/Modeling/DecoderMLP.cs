using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>SwiGLU feed-forward block: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>; biased with Llama's <c>mlp_bias</c>.</summary>
internal sealed class DecoderMLP : nn.Module<Tensor, Tensor>
{
    private readonly ProjectionLinear gate_proj;
    private readonly ProjectionLinear up_proj;
    private readonly ProjectionLinear down_proj;

    public DecoderMLP(DecoderConfig config, WeightSource weights) : base(nameof(DecoderMLP))
    {
        gate_proj = weights.Projection("gate_proj", config.IntermediateSize, config.HiddenSize, config.MlpBias);
        up_proj = weights.Projection("up_proj", config.IntermediateSize, config.HiddenSize, config.MlpBias);
        down_proj = weights.Projection("down_proj", config.HiddenSize, config.IntermediateSize, config.MlpBias);
        RegisterComponents();
    }

    /// <summary>Tokens per chunk when a long input is processed in pieces: the [tokens, intermediate] buffers stay this deep.</summary>
    internal static int TokenChunk { get; set; } = 8192;

    /// <summary>Applies the block to [..., hidden]; long inputs go through in chunks of tokens (the block is position-wise).</summary>
    /// <param name="input">Normalised hidden states.</param>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = input.shape[^1];
        var tokens = input.numel() / hidden;
        if (tokens <= TokenChunk)
            return Apply(input).MoveToOuterDisposeScope();
        var flat = input.reshape(-1, hidden);
        var output = empty_like(flat);
        for (long start = 0; start < tokens; start += TokenChunk)
        {
            using var chunkScope = NewDisposeScope();
            var length = Math.Min(TokenChunk, tokens - start);
            output.narrow(0, start, length).copy_(Apply(flat.narrow(0, start, length)));
        }
        return output.view(input.shape).MoveToOuterDisposeScope();
    }

    private Tensor Apply(Tensor input)
    {
        var gated = nn.functional.silu(gate_proj.forward(input), inplace: true).mul_(up_proj.forward(input));
        return down_proj.forward(gated);
    }
}
