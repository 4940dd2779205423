using System.Globalization;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (BPE models: byte-level like GPT-2, Llama 3 and Qwen, or SentencePiece-style
/// with byte fallback like Llama 2 and Mistral) with the parts of <c>tokenizer_config.json</c> that change ids,
/// encoding text exactly as the Rust tokenizers library does: added tokens split off first, then normalizer,
/// pre-tokenizer and BPE model. See docs/tokenizer-json.md for the semantics followed and where they come from.
/// Immutable and safe for concurrent use; the only shared mutable state is the BPE model's concurrent cache.
/// </summary>
internal sealed class HuggingFaceTokenizer
{
    /// <summary>Largest tokenizer.json accepted (the biggest published ones are a few tens of MiB).</summary>
    public const long MaxTokenizerJsonBytes = 512L * 1024 * 1024;

    /// <summary>
    /// Tokenizer classes whose transformers implementation rebuilds the post-processor from <c>add_bos_token</c>
    /// (default true) and <c>add_eos_token</c> (default false) whatever tokenizer.json says, in transformers 4
    /// (<c>LlamaTokenizerFast.update_post_processor</c>) as in 5.
    /// </summary>
    private static readonly HashSet<string> BosEosRebuildingClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
    };

    private readonly ITextNormalizer? _normalizer;
    private readonly IPreTokenizer? _preTokenizer;
    private readonly BpeModel _model;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<int, string> _idToToken;
    private readonly AddedVocabulary _added;
    private readonly ITokenDecoder? _decoder;
    private readonly bool _splitSpecialTokens;

    private HuggingFaceTokenizer(
        string filePath,
        ITextNormalizer? normalizer,
        IPreTokenizer? preTokenizer,
        TokenizerJsonReader.ModelData model,
        AddedVocabulary added,
        ITokenDecoder? decoder,
        bool splitSpecialTokens)
    {
        FilePath = filePath;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model.Model;
        _vocab = model.Vocab;
        _idToToken = model.IdToToken;
        _added = added;
        _decoder = decoder;
        _splitSpecialTokens = splitSpecialTokens;
        int maxModelId = _idToToken.Count == 0 ? -1 : _idToToken.Keys.Max();
        VocabularySize = Math.Max(maxModelId, added.MaxId) + 1;
    }

    /// <summary>The tokenizer.json this tokenizer was read from.</summary>
    public string FilePath { get; }

    /// <summary>Highest id + 1 over the model vocabulary and the added tokens.</summary>
    public int VocabularySize { get; }

    /// <summary>What <c>add_special_tokens=True</c> puts before a single sequence.</summary>
    public IReadOnlyList<int> PrefixIds { get; private init; } = [];

    /// <summary>What <c>add_special_tokens=True</c> puts after a single sequence.</summary>
    public IReadOnlyList<int> SuffixIds { get; private init; } = [];

    /// <summary>Id of tokenizer_config.json's (else special_tokens_map.json's) <c>bos_token</c>.</summary>
    public int? BosTokenId { get; private init; }

    /// <summary>Id of the configured <c>eos_token</c>.</summary>
    public int? EosTokenId { get; private init; }

    /// <summary>Id of the configured <c>pad_token</c>.</summary>
    public int? PadTokenId { get; private init; }

    /// <summary>Id of the configured <c>unk_token</c>.</summary>
    public int? UnkTokenId { get; private init; }

    /// <summary>Whether tokenizer_config.json sets <c>split_special_tokens</c> (special tokens in text are then ordinary text by default).</summary>
    public bool SplitSpecialTokensByDefault => _splitSpecialTokens;

    /// <summary>
    /// Reads tokenizer.json and, when given and present, tokenizer_config.json and special_tokens_map.json.
    /// </summary>
    /// <param name="tokenizerJsonPath">The tokenizer.json file.</param>
    /// <param name="tokenizerConfigPath">tokenizer_config.json; <see langword="null"/> or a missing file means none.</param>
    /// <param name="specialTokensMapPath">special_tokens_map.json; <see langword="null"/> or a missing file means none.</param>
    /// <param name="matchTimeout">Longest time one regex match from the file may take (default 5 s); past it,
    /// <see cref="Encode"/> throws a <see cref="CheckpointException"/> naming the file.</param>
    /// <exception cref="CheckpointException">A file is missing (tokenizer.json), too large, not JSON, or holds
    /// something unsupported or inconsistent; the message names the file and the field.</exception>
    public static HuggingFaceTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath = null, string? specialTokensMapPath = null, TimeSpan? matchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        var bytes = ReadCapped(tokenizerJsonPath, MaxTokenizerJsonBytes);
        var config = TokenizerConfig.Load(tokenizerConfigPath, specialTokensMapPath);
        using var timeout = TextPattern.UseMatchTimeout(matchTimeout);
        try
        {
            using var document = JsonDocument.Parse(SkipByteOrderMark(bytes), new JsonDocumentOptions { MaxDepth = 64 });
            return Build(new JsonField(document.RootElement, "", tokenizerJsonPath), config);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(tokenizerJsonPath, $"not valid JSON: {e.Message}", innerException: e);
        }
    }

    /// <summary>Reads a whole file, refusing one larger than <paramref name="maxBytes"/>.</summary>
    internal static byte[] ReadCapped(string path, long maxBytes)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new CheckpointException(path, "file not found.");
            if (info.Length > maxBytes)
                throw new CheckpointException(path, string.Create(CultureInfo.InvariantCulture,
                    $"the file is {info.Length} bytes; refusing to parse more than {maxBytes / (1024 * 1024)} MiB."));
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot read the file: {e.Message}", innerException: e);
        }
    }

    private static ReadOnlyMemory<byte> SkipByteOrderMark(byte[] bytes) =>
        bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? bytes.AsMemory(3) : bytes;

    private static HuggingFaceTokenizer Build(JsonField root, TokenizerConfig config)
    {
        root.ExpectObject();
        if (root.Optional("version") is { } version && version.GetString() != "1.0")
            throw version.Error($"unknown tokenizer.json version '{JsonField.Shorten(version.GetString())}'; expected \"1.0\".");

        var normalizer = root.OptionalNonNull("normalizer") is { } n ? TokenizerJsonReader.ReadNormalizer(n) : null;
        var preTokenizer = root.OptionalNonNull("pre_tokenizer") is { } p ? TokenizerJsonReader.ReadPreTokenizer(p) : null;
        var decoder = root.OptionalNonNull("decoder") is { } d ? TokenizerJsonReader.ReadDecoder(d) : null;
        var model = TokenizerJsonReader.ReadModel(root.RequiredNonNull("model"));
        if (config.AddPrefixSpace is { } addPrefixSpace)
            preTokenizer = OverridePrefixSpace(preTokenizer, addPrefixSpace, config.Legacy ?? true);

        var added = BuildAddedVocabulary(root, config, model, normalizer);
        bool IdExists(int id) => model.IdToToken.ContainsKey(id) || added.TokenOf(id) is not null;
        int? IdOf(string content) => added.IdOf(content) ?? (model.Vocab.TryGetValue(content, out var id) ? id : null);
        int? NamedId(string key) =>
            config.NamedTokens.TryGetValue(key, out var token) && token is not null ? IdOf(token.Content) : null;

        var effect = root.OptionalNonNull("post_processor") is { } post
            ? TokenizerJsonReader.ReadPostProcessor(post, IdExists)
            : TokenizerJsonReader.PostProcessorEffect.None;
        effect = RebuildFromConfigFlags(config, effect, NamedId);

        return new HuggingFaceTokenizer(root.FilePath, normalizer, preTokenizer, model, added, decoder, config.SplitSpecialTokens ?? false)
        {
            PrefixIds = effect.Prefix,
            SuffixIds = effect.Suffix,
            BosTokenId = NamedId("bos_token"),
            EosTokenId = NamedId("eos_token"),
            PadTokenId = NamedId("pad_token"),
            UnkTokenId = NamedId("unk_token"),
        };
    }

    /// <summary>
    /// tokenizer.json's added tokens, then (one more <c>add_tokens</c> call, as transformers makes) the config's
    /// <c>added_tokens_decoder</c> entries and the named special tokens that are not added tokens yet.
    /// </summary>
    private static AddedVocabulary BuildAddedVocabulary(JsonField root, TokenizerConfig config, TokenizerJsonReader.ModelData model, ITextNormalizer? normalizer)
    {
        var builder = new AddedVocabulary.Builder(model.Vocab, model.Vocab.Count, model.IdToToken);
        var fromFile = TokenizerJsonReader.ReadAddedTokens(root.Optional("added_tokens"));
        builder.AddBatch(fromFile.Select(t => (t.Token, (int?)t.DeclaredId)).ToList(),
            (i, message) => new CheckpointException(root.FilePath, $"{fromFile[i].Path}: {message}"));

        var batch = new List<(AddedTokenSpec Token, int? DeclaredId)>();
        var where = new List<string>();
        foreach (var (id, token, path) in config.AddedTokensDecoder)
        {
            batch.Add((token, id));
            where.Add(path);
        }
        var named = config.NamedTokens.Values.OfType<AddedTokenSpec>().Concat(config.ExtraSpecialTokens);
        foreach (var token in named)
        {
            // transformers adds a named special token unless it already is an added token.
            if (builder.IdOf(token.Content) is not null || batch.Any(b => b.Token.Content == token.Content))
                continue;
            batch.Add((token, null));
            where.Add($"special token '{JsonField.Shorten(token.Content)}'");
        }
        string configPath = config.FilePath ?? root.FilePath;
        builder.AddBatch(batch, (i, message) => new CheckpointException(configPath, $"{where[i]}: {message}"));
        return builder.Build(normalizer, message => new CheckpointException(root.FilePath, $"added_tokens: {message}"));
    }

    /// <summary>
    /// transformers' <c>update_post_processor</c>: replaces the post-processor by <c>[bos] $A [eos]</c> for the
    /// Llama-family classes always, and for any class when <c>add_bos_token</c> or <c>add_eos_token</c> is
    /// explicitly true; otherwise tokenizer.json's post-processor stands (docs/tokenizer-json.md explains why).
    /// </summary>
    private static TokenizerJsonReader.PostProcessorEffect RebuildFromConfigFlags(
        TokenizerConfig config, TokenizerJsonReader.PostProcessorEffect fromFile, Func<string, int?> namedId)
    {
        bool llamaFamily = config.TokenizerClass is { } name && BosEosRebuildingClasses.Contains(name);
        if (!llamaFamily && config.AddBosToken != true && config.AddEosToken != true)
            return fromFile;
        bool addBos = config.AddBosToken ?? llamaFamily;
        bool addEos = config.AddEosToken ?? false;
        return new TokenizerJsonReader.PostProcessorEffect(
            addBos ? FlagToken(config, "bos_token", "add_bos_token", namedId) : [],
            addEos ? FlagToken(config, "eos_token", "add_eos_token", namedId) : [],
            1);
    }

    private static int[] FlagToken(TokenizerConfig config, string key, string flag, Func<string, int?> namedId)
    {
        // Like transformers 5, a flag whose token is not configured adds nothing.
        if (!config.NamedTokens.TryGetValue(key, out var token) || token is null)
            return [];
        return namedId(key) is { } id
            ? [id]
            : throw new CheckpointException(config.FilePath ?? "tokenizer_config.json",
                $"{flag}: {key} '{JsonField.Shorten(token.Content)}' is not in the vocabulary.");
    }

    /// <summary>
    /// tokenizer_config.json's <c>add_prefix_space</c> applied to ByteLevel and Metaspace pre-tokenizers, the way
    /// transformers' <c>_get_prepend_scheme</c> maps it for Metaspace: false → never, true → always (first when
    /// <c>legacy</c> is false); true leaves a scheme that already prepends alone.
    /// </summary>
    private static IPreTokenizer? OverridePrefixSpace(IPreTokenizer? preTokenizer, bool addPrefixSpace, bool legacy) => preTokenizer switch
    {
        ByteLevelPreTokenizer byteLevel => byteLevel.WithAddPrefixSpace(addPrefixSpace),
        MetaspacePreTokenizer metaspace when !addPrefixSpace => metaspace.WithScheme(PrependScheme.Never),
        MetaspacePreTokenizer metaspace when metaspace.Scheme == PrependScheme.Never => metaspace.WithScheme(legacy ? PrependScheme.Always : PrependScheme.First),
        SequencePreTokenizer sequence => new SequencePreTokenizer(sequence.Stages.Select(stage => OverridePrefixSpace(stage, addPrefixSpace, legacy)!).ToList()),
        _ => preTokenizer,
    };

    /// <summary>
    /// <c>tokenizer(text, add_special_tokens=False).input_ids</c>. Lone surrogates become U+FFFD first.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="parseSpecialTokens">Whether special added tokens written in the text are recognised as such
    /// (the library's default); <see langword="false"/> treats them as ordinary text, like transformers'
    /// <c>split_special_tokens=True</c>. Non-special added tokens always match. <see langword="null"/> follows
    /// tokenizer_config.json's <c>split_special_tokens</c>.</param>
    public int[] Encode(string text, bool? parseSpecialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = TextSanitizer.ReplaceLoneSurrogates(text);
        bool skipSpecial = !(parseSpecialTokens ?? !_splitSpecialTokens);
        var segments = new List<Segment>();
        _added.ExtractAndNormalize(text, _normalizer, skipSpecial, segments);
        var ids = new List<int>(text.Length / 3 + 4);
        var pieces = new List<TextPiece>();
        foreach (var segment in segments)
        {
            if (segment.IsToken)
            {
                ids.Add(segment.TokenId);
                continue;
            }
            if (_preTokenizer is null)
            {
                _model.Tokenize(segment.Text!, ids);
                continue;
            }
            pieces.Clear();
            _preTokenizer.PreTokenize(new TextPiece(segment.Text!, segment.AtTextStart), pieces);
            foreach (var piece in pieces)
                _model.Tokenize(piece.Text, ids);
        }
        return ids.ToArray();
    }

    /// <summary>The id of a token string: an added token first, then the model vocabulary.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _added.IdOf(token) ?? (_vocab.TryGetValue(token, out var id) ? id : null);
    }

    /// <summary>
    /// The token string of an id, as the library's <c>id_to_token</c>: an added token (in its normalized form when it
    /// is a normalized token that the normalizer changes), else the vocabulary entry.
    /// </summary>
    public string? IdToToken(int id) => _added.TokenStringOf(id) ?? (_idToToken.TryGetValue(id, out var token) ? token : null);

    /// <summary>Whether the id is a special added token.</summary>
    public bool IsSpecial(int id) => _added.TokenOf(id) is { } token && _added.IsSpecialContent(token.Content);

    /// <summary>
    /// The library's <c>decode</c>: unknown ids are dropped, special tokens too when asked (recognised by their
    /// token string, as the library does), then the decoder runs; without a decoder the tokens are joined by spaces.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            string? token = IdToToken(id);
            if (token is null || (skipSpecialTokens && _added.IsSpecialContent(token)))
                continue;
            tokens.Add(token);
        }
        return _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder.DecodeChain(tokens));
    }
}
