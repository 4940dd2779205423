namespace LastTokenEmbeddings.Tokenization;

/// <summary>What <see cref="PromptFormat.BuildIds(ModelTokenizer, string, TextRole, int, TruncationPolicy)"/> does when a prompt has more tokens than allowed.</summary>
public enum TruncationPolicy
{
    /// <summary>
    /// Shorten the user text's tokens so the prompt fits exactly; BOS, the format's fixed prefix, its fixed suffix
    /// (e.g. <c> [/INST]</c>) and a required EOS are always kept.
    /// </summary>
    Truncate = 0,

    /// <summary>Throw an <see cref="InputTooLongException"/> stating the token count and the limit.</summary>
    Throw = 1,
}
