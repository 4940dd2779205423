using LastTokenEmbeddings.Checkpoints;
using Microsoft.ML.Tokenizers;

namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// The SentencePiece BPE tokenizer of Mistral-family models (<c>tokenizer.model</c>, byte fallback, dummy-prefix space),
/// producing the same ids as the Hugging Face <c>LlamaTokenizer</c> for Mistral v0.1.
/// </summary>
/// <remarks>
/// <para>All members are thread-safe: calls into the underlying tokenizer are serialized by a private lock.</para>
/// <para>
/// Input text rules (all encoding members): <see langword="null"/> throws <see cref="ArgumentNullException"/>;
/// empty or whitespace-only text is allowed (empty text yields no ids); lone surrogates (invalid UTF-16) are replaced with
/// U+FFFD before encoding; control characters are encoded as they are (through their vocabulary entries or byte fallback).
/// </para>
/// </remarks>
public sealed class MistralTokenizer
{
    private readonly LlamaTokenizer _tokenizer;
    private readonly Lock _gate = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _templateParts = new(StringComparer.Ordinal);

    private MistralTokenizer(LlamaTokenizer tokenizer, int vocabularySize)
    {
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
        BosId = tokenizer.BeginningOfSentenceId;
        EosId = tokenizer.EndOfSentenceId;
    }

    /// <summary>Id of the beginning-of-sentence token <c>&lt;s&gt;</c> (1 for Mistral).</summary>
    public int BosId { get; }

    /// <summary>Id of the end-of-sentence token <c>&lt;/s&gt;</c> (2 for Mistral).</summary>
    public int EosId { get; }

    /// <summary>Number of entries in the vocabulary (32000 for Mistral v0.1); valid ids are <c>0 .. VocabularySize - 1</c>.</summary>
    public int VocabularySize { get; }

    /// <summary>Loads a SentencePiece <c>tokenizer.model</c> file.</summary>
    /// <param name="tokenizerModelPath">Path of the <c>tokenizer.model</c> file.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizerModelPath"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="tokenizerModelPath"/> is empty or whitespace.</exception>
    /// <exception cref="CheckpointException">
    /// The file is missing, unreadable, or not a valid SentencePiece BPE model; the message names the file.
    /// </exception>
    public static MistralTokenizer Load(string tokenizerModelPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tokenizerModelPath);
        if (!File.Exists(tokenizerModelPath))
        {
            throw new CheckpointException(tokenizerModelPath, "tokenizer file not found.");
        }

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
            throw new CheckpointException(
                tokenizerModelPath,
                $"not a valid SentencePiece BPE tokenizer model ({ex.GetType().Name}: {ex.Message}).",
                innerException: ex);
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
        {
            throw new CheckpointException(tokenizerModelPath, "the tokenizer model has an empty vocabulary.");
        }

        if (tokenizer.BeginningOfSentenceId < 0 || tokenizer.BeginningOfSentenceId >= vocabularySize
            || tokenizer.EndOfSentenceId < 0 || tokenizer.EndOfSentenceId >= vocabularySize)
        {
            throw new CheckpointException(
                tokenizerModelPath,
                $"the tokenizer model lacks valid BOS/EOS ids (bos={tokenizer.BeginningOfSentenceId}, eos={tokenizer.EndOfSentenceId}, vocabulary size {vocabularySize}).");
        }

        return new MistralTokenizer(tokenizer, vocabularySize);
    }

    /// <summary>
    /// Encodes text into SentencePiece ids, without BOS or EOS. As in SentencePiece, a dummy-prefix space is
    /// prepended, so <c>"Hello"</c> and <c>" Hello"</c> differ.
    /// </summary>
    /// <param name="text">The text; see the class remarks for the input rules.</param>
    /// <returns>The ids (empty for empty text).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public IReadOnlyList<int> EncodeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text);
    }

    /// <summary>Number of ids <see cref="EncodeText"/> returns for <paramref name="text"/> (no BOS/EOS).</summary>
    /// <param name="text">The text; see the class remarks for the input rules.</param>
    /// <returns>The token count.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string clean = TextSanitizer.ReplaceLoneSurrogates(text);
        lock (_gate)
        {
            return _tokenizer.CountTokens(clean, addBeginningOfSentence: false, addEndOfSentence: false);
        }
    }

    /// <summary>
    /// Decodes ids back into text. Special tokens (BOS, EOS, UNK) are omitted and the dummy-prefix space is removed.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>0 .. VocabularySize - 1</c>.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int[] list = ids.ToArray();
        foreach (int id in list)
        {
            if (id < 0 || id >= VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary (0..{VocabularySize - 1}).");
            }
        }

        lock (_gate)
        {
            return _tokenizer.Decode(list);
        }
    }

    /// <summary>Encodes without the null check; the text's lone surrogates are replaced first.</summary>
    /// <summary>
    /// Ids of a prompt template's fixed part, memoised: formats re-derive their prefix and suffix ids for every
    /// text, and templates are few. The cache is cleared if it ever grows past 256 entries.
    /// </summary>
    internal int[] EncodeTemplatePart(string part)
    {
        if (_templateParts.TryGetValue(part, out var ids))
        {
            return ids;
        }

        if (_templateParts.Count >= 256)
        {
            _templateParts.Clear();
        }

        return _templateParts[part] = Encode(part);
    }

    internal int[] Encode(string text)
    {
        string clean = TextSanitizer.ReplaceLoneSurrogates(text);
        if (clean.Length == 0)
        {
            return [];
        }

        IReadOnlyList<int> ids;
        lock (_gate)
        {
            ids = _tokenizer.EncodeToIds(clean, addBeginningOfSentence: false, addEndOfSentence: false);
        }

        var result = new int[ids.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = ids[i];
        }

        return result;
    }
}
