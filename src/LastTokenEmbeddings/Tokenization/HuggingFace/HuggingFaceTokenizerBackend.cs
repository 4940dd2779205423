namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>A <c>tokenizer.json</c> tokenizer seen as a <see cref="ModelTokenizer"/> backend.</summary>
internal sealed class HuggingFaceTokenizerBackend(HuggingFaceTokenizer tokenizer, string format) : ITokenizerBackend
{
    public static HuggingFaceTokenizerBackend Load(string tokenizerJsonPath, string? tokenizerConfigPath, string? specialTokensMapPath)
    {
        var tokenizer = HuggingFaceTokenizer.Load(tokenizerJsonPath,
            tokenizerConfigPath is not null && File.Exists(tokenizerConfigPath) ? tokenizerConfigPath : null,
            specialTokensMapPath is not null && File.Exists(specialTokensMapPath) ? specialTokensMapPath : null);
        return new HuggingFaceTokenizerBackend(tokenizer, "tokenizer.json (BPE)");
    }

    public string SourcePath => tokenizer.FilePath;

    public string FormatDescription => format;

    public int VocabularySize => tokenizer.VocabularySize;

    public int? BosId => tokenizer.BosTokenId;

    public int? EosId => tokenizer.EosTokenId;

    public int? PadId => tokenizer.PadTokenId;

    public IReadOnlyList<int> PrefixIds => tokenizer.PrefixIds;

    public IReadOnlyList<int> SuffixIds => tokenizer.SuffixIds;

    public int[] Encode(string text, bool? parseSpecialTokens) => tokenizer.Encode(text, parseSpecialTokens);

    public int? TokenToId(string token) => tokenizer.TokenToId(token);

    public bool IsSpecial(int id) => tokenizer.IsSpecial(id);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => tokenizer.Decode(ids, skipSpecialTokens);
}
