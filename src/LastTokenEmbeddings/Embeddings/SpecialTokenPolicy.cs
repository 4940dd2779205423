namespace LastTokenEmbeddings.Embeddings;

/// <summary>What becomes of special-token strings (<c>&lt;/s&gt;</c>, <c>&lt;|im_start|&gt;</c>, <c>[INST]</c>) written inside a text.</summary>
public enum SpecialTokenPolicy
{
    /// <summary>
    /// They become their special ids, as the Hugging Face tokenizers (and so sentence-transformers and TEI) do by
    /// default. A text can then end itself early or open a chat turn; that only changes its own vector.
    /// </summary>
    Parse = 0,

    /// <summary>They are encoded as the plain characters they are written with (transformers' <c>split_special_tokens=True</c>): for untrusted text.</summary>
    AsText = 1,
}
