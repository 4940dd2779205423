using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Token embedding lookup over a loaded <c>weight</c> [vocab, hidden]. (TorchSharp's
/// <c>Embedding_from_pretrained</c> first allocates a random float32 matrix of the same size, which for a 7B
/// model is half a gigabyte thrown away.)
/// </summary>
internal sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    /// <summary>Wraps a loaded embedding matrix; ownership passes to the module.</summary>
    /// <param name="weight">[vocab, hidden].</param>
    public TokenEmbedding(Tensor weight) : base(nameof(TokenEmbedding))
    {
        this.weight = new Parameter(weight, requires_grad: false);
        RegisterComponents();
    }

    /// <summary>The embedding matrix [vocab, hidden].</summary>
    public Tensor Weight => weight;

    /// <summary>Rows of the matrix for <paramref name="ids"/> [batch, seq], giving [batch, seq, hidden].</summary>
    /// <param name="ids">Token ids (int64 or int32), already checked to lie in the vocabulary.</param>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var rows = weight.index_select(0, ids.reshape(-1));
        return rows.view([.. ids.shape, weight.shape[1]]).MoveToOuterDisposeScope();
    }
}
