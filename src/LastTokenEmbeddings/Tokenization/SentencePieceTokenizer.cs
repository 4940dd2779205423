using LastTokenEmbeddings.Checkpoints;
using Microsoft.ML.Tokenizers;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// A SentencePiece BPE <c>tokenizer.model</c> (Mistral, Llama 2: byte fallback, dummy-prefix space) through
/// Microsoft.ML.Tokenizers' <see cref="LlamaTokenizer"/>, producing the ids of Hugging Face's <c>LlamaTokenizer</c>.
/// <c>tokenizer_config.json</c>, when present, supplies <c>add_bos_token</c> / <c>add_eos_token</c>,
/// <c>split_special_tokens</c> and the added special tokens; special tokens written in a text (<c>&lt;/s&gt;</c>) split it, each piece getting its own dummy
/// prefix, as transformers' legacy Llama tokenizers and the tokenizers library's Prepend normalizer both do.
/// </summary>
internal sealed class SentencePieceTokenizer : ITokenizerBackend
{
    private readonly LlamaTokenizer tokenizer;
    private readonly SpecialTokenSplitter specials;
    private readonly HashSet<int> specialIds;
    private readonly bool splitSpecialTokens;

    private SentencePieceTokenizer(string path, LlamaTokenizer tokenizer, int vocabularySize, IReadOnlyList<int> prefix, IReadOnlyList<int> suffix, IReadOnlyDictionary<string, int> specialTokens, bool splitSpecialTokens)
    {
        SourcePath = path;
        this.tokenizer = tokenizer;
        VocabularySize = vocabularySize;
        BosId = tokenizer.BeginningOfSentenceId;
        EosId = tokenizer.EndOfSentenceId;
        PrefixIds = prefix;
        SuffixIds = suffix;
        specials = new SpecialTokenSplitter(specialTokens);
        specialIds = [.. specialTokens.Values];
        this.splitSpecialTokens = splitSpecialTokens;
    }

    public string SourcePath { get; }

    public string FormatDescription => "tokenizer.model (SentencePiece BPE)";

    public int VocabularySize { get; }

    public int? BosId { get; }

    public int? EosId { get; }

    public int? PadId => null;

    public IReadOnlyList<int> PrefixIds { get; }

    public IReadOnlyList<int> SuffixIds { get; }

    /// <summary>Loads <paramref name="tokenizerModelPath"/>, with the flags of <paramref name="tokenizerConfigPath"/> when that file exists.</summary>
    /// <exception cref="CheckpointException">A file is missing, unreadable or malformed; the message names it.</exception>
    public static SentencePieceTokenizer Load(string tokenizerModelPath, string? tokenizerConfigPath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tokenizerModelPath);
        if (!File.Exists(tokenizerModelPath))
            throw new CheckpointException(tokenizerModelPath, "tokenizer file not found.");

        LlamaTokenizer tokenizer;
        try
        {
            using var stream = File.OpenRead(tokenizerModelPath);
            tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(tokenizerModelPath, $"cannot read tokenizer file: {ex.Message}", innerException: ex);
        }
#pragma warning disable CA1031 // Any failure while parsing means the file is not a usable SentencePiece model.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new CheckpointException(tokenizerModelPath, $"not a valid SentencePiece BPE tokenizer model ({ex.GetType().Name}: {ex.Message}).", innerException: ex);
        }

        int vocabularySize;
        try
        {
            vocabularySize = tokenizer.Vocabulary.Count;
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new CheckpointException(tokenizerModelPath, $"the tokenizer model has an unusable vocabulary ({ex.Message}).", innerException: ex);
        }
        if (vocabularySize <= 0)
            throw new CheckpointException(tokenizerModelPath, "the tokenizer model has an empty vocabulary.");
        int bos = tokenizer.BeginningOfSentenceId, eos = tokenizer.EndOfSentenceId;
        if (bos < 0 || bos >= vocabularySize || eos < 0 || eos >= vocabularySize)
            throw new CheckpointException(tokenizerModelPath, $"the tokenizer model lacks valid BOS/EOS ids (bos={bos}, eos={eos}, vocabulary size {vocabularySize}).");

        // Hugging Face's LlamaTokenizer defaults: BOS added, EOS not.
        var (addBos, addEos, added, split) = tokenizerConfigPath is not null && File.Exists(tokenizerConfigPath)
            ? ReadConfig(tokenizerConfigPath, vocabularySize)
            : (true, false, new Dictionary<string, int>(), false);
        var specialTokens = new Dictionary<string, int>(added, StringComparer.Ordinal);
        foreach (var id in new[] { tokenizer.UnknownId, bos, eos })
        {
            if (id >= 0 && id < vocabularySize && tokenizer.Vocabulary.FirstOrDefault(pair => pair.Value == id).Key is { Length: > 0 } piece)
                specialTokens.TryAdd(piece, id);
        }
        return new SentencePieceTokenizer(tokenizerModelPath, tokenizer, vocabularySize, addBos ? [bos] : [], addEos ? [eos] : [], specialTokens, split);
    }

    /// <summary>The flags and special added tokens of <c>tokenizer_config.json</c>.</summary>
    private static (bool AddBos, bool AddEos, Dictionary<string, int> Specials, bool SplitSpecialTokens) ReadConfig(string path, int vocabularySize) =>
        JsonFields.ReadFile(path, fields =>
        {
            var specials = new Dictionary<string, int>(StringComparer.Ordinal);
            if (fields.OptionalObject("added_tokens_decoder") is { } decoder)
            {
                foreach (var key in decoder.Keys)
                {
                    if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id >= vocabularySize)
                        throw decoder.Error(key, $"is not a token id of this {vocabularySize}-token vocabulary.");
                    var entry = decoder.OptionalObject(key) ?? throw decoder.Error(key, "must be an object.");
                    var content = entry.RequiredString("content");
                    if ((entry.OptionalBool("special") ?? false) && content.Length > 0 && !specials.TryAdd(content, id) && specials[content] != id)
                        throw decoder.Error(key, $"reuses the content '{content}' of token {specials[content]}.");
                }
            }
            return (fields.OptionalBool("add_bos_token") ?? true, fields.OptionalBool("add_eos_token") ?? false, specials,
                fields.OptionalBool("split_special_tokens") ?? false);
        });

    public int[] Encode(string text, bool? parseSpecialTokens)
    {
        var clean = TextSanitizer.ReplaceLoneSurrogates(text);
        // split_special_tokens: transformers then encodes special-token strings as text unless a call says otherwise.
        if (!(parseSpecialTokens ?? !splitSpecialTokens))
            return EncodePiece(clean);
        var ids = new List<int>();
        foreach (var (piece, specialId) in specials.Split(clean))
        {
            if (specialId is { } id)
                ids.Add(id);
            else
                ids.AddRange(EncodePiece(piece));
        }
        return [.. ids];
    }

    private int[] EncodePiece(string text)
    {
        if (text.Length == 0)
            return [];
        var ids = tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var result = new int[ids.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = ids[i];
        return result;
    }

    public int? TokenToId(string token) => tokenizer.Vocabulary.TryGetValue(token, out var id) ? id : null;

    public bool IsSpecial(int id) => specialIds.Contains(id);

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) =>
        tokenizer.Decode(ids, considerSpecialTokens: !skipSpecialTokens) ?? "";
}
