using LastTokenEmbeddings.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// A decoder checkpoint loaded for embedding: the decoder stack (<c>model</c>) plus, when the checkpoint has one,
/// the LM head (<c>lm_head</c>, or the tied embedding matrix). Logits are computed only for the rows asked for.
/// </summary>
internal sealed class DecoderForCausalLM : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly DecoderModel model;
    private readonly Linear? lm_head;
    private readonly bool tiedHead;

    public DecoderForCausalLM(DecoderModel model, Linear? lmHead, bool tiedHead, CheckpointInfo checkpoint)
        : base(nameof(DecoderForCausalLM))
    {
        this.model = model;
        lm_head = lmHead;
        this.tiedHead = tiedHead;
        Checkpoint = checkpoint;
        RegisterComponents();
    }

    /// <summary>Loads a Hugging Face model directory (config.json plus model.safetensors or a sharded index).</summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="options">Dtype and device; defaults when <see langword="null"/>.</param>
    /// <exception cref="CheckpointException">A file is missing or malformed, or a tensor is missing, unexpected or wrongly shaped.</exception>
    public static DecoderForCausalLM Load(string directory, ModelLoadOptions? options = null) =>
        DecoderLoader.Load(directory, options ?? new ModelLoadOptions());

    /// <summary>The decoder stack.</summary>
    public DecoderModel Model => model;

    /// <summary>The architecture.</summary>
    public DecoderConfig Config => model.Config;

    /// <summary>Where the weights came from and how they were laid out.</summary>
    public CheckpointInfo Checkpoint { get; }

    /// <summary>Whether logits can be computed (false for checkpoints published as a bare <c>MistralModel</c>, <c>Qwen3Model</c>, ...).</summary>
    public bool HasLanguageModelHead => lm_head is not null || tiedHead;

    /// <summary>Logits for every position [batch, seq, vocab], as <c>model(ids).logits</c> in transformers.</summary>
    /// <param name="inputIds">Token ids [batch, seq].</param>
    /// <param name="attentionMask">[batch, seq], nonzero for real tokens.</param>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        return ComputeLogits(model.forward(inputIds, attentionMask)).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the LM head to hidden states [..., hidden], e.g. only the last position of each text.</summary>
    /// <param name="hidden">Final normed hidden states.</param>
    /// <returns>Logits [..., vocab] in the compute dtype.</returns>
    /// <exception cref="InvalidOperationException">The checkpoint has no LM head.</exception>
    public Tensor ComputeLogits(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        using var inference = inference_mode();
        if (lm_head is not null)
            return lm_head.forward(hidden);
        if (tiedHead)
            return nn.functional.linear(hidden, model.EmbeddingWeight);
        throw NoHead();
    }

    /// <summary>Logits of <paramref name="tokenIds"/> only (rows of the LM head), for hidden states [..., hidden].</summary>
    /// <param name="hidden">Final normed hidden states.</param>
    /// <param name="tokenIds">Vocabulary ids whose logits are wanted.</param>
    /// <returns>Logits [..., tokenIds.Length] in the compute dtype.</returns>
    /// <exception cref="InvalidOperationException">The checkpoint has no LM head.</exception>
    public Tensor ComputeTokenLogits(Tensor hidden, long[] tokenIds)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(tokenIds);
        using var inference = inference_mode();
        var head = lm_head?.weight ?? (tiedHead ? model.EmbeddingWeight : throw NoHead());
        using var scope = NewDisposeScope();
        var rows = head.index_select(0, tensor(tokenIds).to(head.device));
        return nn.functional.linear(hidden, rows).MoveToOuterDisposeScope();
    }

    private InvalidOperationException NoHead() => new(
        $"The checkpoint in '{Checkpoint.Directory}' is a bare {Config.Family}Model (no lm_head), so logits are unavailable; " +
        "use a hidden-state pooling such as last-token hidden or mean.");
}
