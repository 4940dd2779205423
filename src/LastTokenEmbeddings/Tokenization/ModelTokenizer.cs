using System.Collections.Concurrent;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// A checkpoint's tokenizer: SentencePiece <c>tokenizer.model</c> where present (Mistral, Llama 2), else Hugging
/// Face <c>tokenizer.json</c> (byte-level BPE for Qwen2/Qwen3 and Llama 3; SentencePiece-style BPE with byte
/// fallback), with the flags of <c>tokenizer_config.json</c>. Ids equal those of the Hugging Face tokenizers.
/// </summary>
/// <remarks>
/// <para>All members are thread-safe and run concurrently (no lock is held while encoding).</para>
/// <para>
/// Input text rules (all encoding members): <see langword="null"/> throws <see cref="ArgumentNullException"/>; empty
/// or whitespace-only text is allowed (empty text yields no ids); lone surrogates (invalid UTF-16) are replaced with
/// U+FFFD before encoding; control characters are encoded as they are. Special-token strings written in the text
/// (<c>&lt;/s&gt;</c>, <c>&lt;|im_end|&gt;</c>) become their ids, as the Hugging Face tokenizers do, unless
/// <see cref="Embeddings.EmbeddingOptions.SpecialTokens"/> says otherwise, or the tokenizer's <c>split_special_tokens</c> is set.
/// </para>
/// </remarks>
public sealed class ModelTokenizer
{
    private readonly ITokenizerBackend backend;
    private readonly ConcurrentDictionary<string, int[]> templateParts = new(StringComparer.Ordinal);

    internal ModelTokenizer(ITokenizerBackend backend)
    {
        this.backend = backend;
    }

    /// <summary>The file the tokenizer was read from.</summary>
    public string SourcePath => backend.SourcePath;

    /// <summary>The file format, e.g. "tokenizer.model (SentencePiece BPE)".</summary>
    public string Format => backend.FormatDescription;

    /// <summary>Number of ids (added tokens included); valid ids are <c>0 .. VocabularySize - 1</c>.</summary>
    public int VocabularySize => backend.VocabularySize;

    /// <summary>Beginning-of-sequence id (1 for Mistral), or <see langword="null"/> when the tokenizer has none (Qwen).</summary>
    public int? BosId => backend.BosId;

    /// <summary>End-of-sequence id as the tokenizer declares it (2 for Mistral, <c>&lt;|im_end|&gt;</c> for Qwen3 chat models).</summary>
    public int? EosId => backend.EosId;

    /// <summary>Ids <c>tokenizer(text)</c> puts before the text (BOS for Llama and Mistral; none for Qwen).</summary>
    public IReadOnlyList<int> PrefixIds => backend.PrefixIds;

    /// <summary>Ids <c>tokenizer(text)</c> puts after the text (<c>&lt;|endoftext|&gt;</c> for Qwen3-Embedding; usually none).</summary>
    public IReadOnlyList<int> SuffixIds => backend.SuffixIds;

    /// <summary>
    /// Loads the tokenizer of a model directory: <c>tokenizer.model</c> when present, else <c>tokenizer.json</c>;
    /// <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> are read when present.
    /// </summary>
    /// <param name="modelDirectory">The model directory.</param>
    /// <exception cref="CheckpointException">No tokenizer file is present, or one is malformed; the message names the file.</exception>
    public static ModelTokenizer Load(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectory);
        var sentencePiece = Path.Combine(modelDirectory, "tokenizer.model");
        var json = Path.Combine(modelDirectory, "tokenizer.json");
        var config = Path.Combine(modelDirectory, "tokenizer_config.json");
        if (File.Exists(sentencePiece))
            return new ModelTokenizer(SentencePieceTokenizer.Load(sentencePiece, config));
        if (File.Exists(json))
            return new ModelTokenizer(HuggingFace.HuggingFaceTokenizerBackend.Load(json, config, Path.Combine(modelDirectory, "special_tokens_map.json")));
        throw new CheckpointException(modelDirectory, "no tokenizer found: the directory has neither tokenizer.model nor tokenizer.json.");
    }

    /// <summary>Loads a SentencePiece <c>tokenizer.model</c> file on its own (BOS added by <see cref="Encode(string, bool)"/>, as Hugging Face's LlamaTokenizer defaults).</summary>
    /// <param name="tokenizerModelPath">The <c>tokenizer.model</c> file.</param>
    /// <exception cref="CheckpointException">The file is missing or not a SentencePiece BPE model.</exception>
    public static ModelTokenizer LoadSentencePiece(string tokenizerModelPath) =>
        new(SentencePieceTokenizer.Load(tokenizerModelPath));

    /// <summary>The text's ids without any special tokens added (<c>tokenizer(text, add_special_tokens=False)</c>).</summary>
    /// <param name="text">The text.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public IReadOnlyList<int> EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeBody(text, parseSpecialTokens: null);
    }

    /// <summary>The ids of <c>tokenizer(text)</c> (<paramref name="addSpecialTokens"/>) or <c>tokenizer(text, add_special_tokens=False)</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Whether to add <see cref="PrefixIds"/> and <see cref="SuffixIds"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var body = EncodeBody(text, parseSpecialTokens: null);
        return addSpecialTokens ? [.. PrefixIds, .. body, .. SuffixIds] : body;
    }

    /// <summary>Number of ids <see cref="EncodeText"/> returns for <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeBody(text, parseSpecialTokens: null).Length;
    }

    /// <summary>The id of a token of the vocabulary (e.g. "&lt;|endoftext|&gt;"), or <see langword="null"/>.</summary>
    /// <param name="token">The token's text as the vocabulary spells it.</param>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return backend.TokenToId(token);
    }

    /// <summary>Whether <paramref name="id"/> is a special token (BOS, EOS, <c>&lt;|im_end|&gt;</c>, ...).</summary>
    /// <param name="id">A token id.</param>
    public bool IsSpecial(int id) => backend.IsSpecial(id);

    /// <summary>Decodes ids back into text; special tokens are omitted unless <paramref name="skipSpecialTokens"/> is false.</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="skipSpecialTokens">Whether to drop special tokens.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>0 .. VocabularySize - 1</c>.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids.ToArray();
        foreach (var id in list)
        {
            if (id < 0 || id >= VocabularySize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary (0..{VocabularySize - 1}).");
        }
        return backend.Decode(list, skipSpecialTokens);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Format}, {VocabularySize} ids";

    /// <summary>Encodes without the null check; lone surrogates are replaced by the backend.</summary>
    internal int[] EncodeBody(string text, bool? parseSpecialTokens) =>
        text.Length == 0 ? [] : backend.Encode(TextSanitizer.ReplaceLoneSurrogates(text), parseSpecialTokens);

    /// <summary>
    /// Ids of a prompt template's fixed part, memoised: formats re-derive their prefix and suffix ids for every
    /// text, and templates are few. The cache is cleared if it ever grows past 256 entries.
    /// </summary>
    internal int[] EncodeTemplatePart(string part)
    {
        if (templateParts.TryGetValue(part, out var ids))
            return ids;
        if (templateParts.Count >= 256)
            templateParts.Clear();
        return templateParts[part] = EncodeBody(part, parseSpecialTokens: null);
    }
}
