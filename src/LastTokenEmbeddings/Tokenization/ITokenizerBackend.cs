namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// A tokenizer file format (SentencePiece <c>tokenizer.model</c>, Hugging Face <c>tokenizer.json</c>) seen through
/// what <see cref="ModelTokenizer"/> needs. Implementations are immutable and safe for concurrent use.
/// </summary>
internal interface ITokenizerBackend
{
    /// <summary>The file the tokenizer was read from.</summary>
    string SourcePath { get; }

    /// <summary>"tokenizer.model (SentencePiece)" or "tokenizer.json (BPE, byte-level)" and the like.</summary>
    string FormatDescription { get; }

    /// <summary>Highest id + 1, added tokens included.</summary>
    int VocabularySize { get; }

    int? BosId { get; }

    int? EosId { get; }

    int? PadId { get; }

    /// <summary>What <c>tokenizer(text)</c> adds before the text's ids (its post-processor or <c>add_bos_token</c>).</summary>
    IReadOnlyList<int> PrefixIds { get; }

    /// <summary>What <c>tokenizer(text)</c> adds after the text's ids.</summary>
    IReadOnlyList<int> SuffixIds { get; }

    /// <summary>
    /// <c>tokenizer(text, add_special_tokens=False)</c>. With <paramref name="parseSpecialTokens"/> false, special
    /// tokens written in the text are encoded as ordinary text; <see langword="null"/> follows the tokenizer's own
    /// default (<c>split_special_tokens</c> of tokenizer_config.json).
    /// </summary>
    int[] Encode(string text, bool? parseSpecialTokens);

    int? TokenToId(string token);

    bool IsSpecial(int id);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens);
}
