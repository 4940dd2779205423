using System.Globalization;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// What transformers reads from <c>tokenizer_config.json</c> (and <c>special_tokens_map.json</c>) that changes the
/// ids of <c>tokenizer(text)</c>: the tokenizer class, the special-token flags and names, and the added tokens
/// it declares. Everything else (chat templates, lengths, padding side) is ignored.
/// </summary>
internal sealed class TokenizerConfig
{
    /// <summary>The special-token attributes of transformers' tokenizers, in its order.</summary>
    public static readonly string[] NamedTokenKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    public static TokenizerConfig Empty { get; } = new();

    public string? TokenizerClass { get; private init; }

    public bool? AddBosToken { get; private init; }

    public bool? AddEosToken { get; private init; }

    /// <summary>
    /// Does not change how tokenizer.json's pipeline encodes: transformers uses <c>legacy</c> when it rebuilds a Llama
    /// pipeline instead (from the SentencePiece model in version 4, from the vocabulary in version 5). Only picks
    /// the Metaspace scheme when <see cref="AddPrefixSpace"/> turns prepending on.
    /// </summary>
    public bool? Legacy { get; private init; }

    public bool? AddPrefixSpace { get; private init; }

    public bool? SplitSpecialTokens { get; private init; }

    /// <summary>Named special tokens that are present (a JSON null is present, as "no such token").</summary>
    public IReadOnlyDictionary<string, AddedTokenSpec?> NamedTokens { get; private init; } = new Dictionary<string, AddedTokenSpec?>();

    /// <summary><c>additional_special_tokens</c> / <c>extra_special_tokens</c>.</summary>
    public IReadOnlyList<AddedTokenSpec> ExtraSpecialTokens { get; private init; } = [];

    /// <summary><c>added_tokens_decoder</c>, sorted by id as transformers adds them.</summary>
    public IReadOnlyList<(int Id, AddedTokenSpec Token, string Path)> AddedTokensDecoder { get; private init; } = [];

    /// <summary>The file <see cref="AddedTokensDecoder"/> and the flags came from (for error messages).</summary>
    public string? FilePath { get; private init; }

    /// <summary>Reads both files; either may be <see langword="null"/> or missing.</summary>
    public static TokenizerConfig Load(string? tokenizerConfigPath, string? specialTokensMapPath)
    {
        var config = ReadDocument(tokenizerConfigPath);
        var map = ReadDocument(specialTokensMapPath);
        if (config is null && map is null)
            return Empty;
        var named = new Dictionary<string, AddedTokenSpec?>(StringComparer.Ordinal);
        foreach (var key in NamedTokenKeys)
        {
            // tokenizer_config.json first, special_tokens_map.json where the config does not have the key.
            if (config?.Optional(key) is { } fromConfig) named[key] = ReadNamedToken(fromConfig);
            else if (map?.Optional(key) is { } fromMap) named[key] = ReadNamedToken(fromMap);
        }
        var extra = new List<AddedTokenSpec>();
        foreach (var source in new[] { config, map })
        {
            if (source is not { } root) continue;
            ReadExtraTokens(root.OptionalNonNull("additional_special_tokens"), extra);
            ReadExtraTokens(root.OptionalNonNull("extra_special_tokens"), extra);
            if (extra.Count > 0) break; // the config's list wins over the map's
        }
        return new TokenizerConfig
        {
            FilePath = tokenizerConfigPath,
            TokenizerClass = config?.OptionalString("tokenizer_class"),
            AddBosToken = config?.OptionalBool("add_bos_token"),
            AddEosToken = config?.OptionalBool("add_eos_token"),
            Legacy = config?.OptionalBool("legacy"),
            AddPrefixSpace = config?.OptionalBool("add_prefix_space"),
            SplitSpecialTokens = config?.OptionalBool("split_special_tokens"),
            NamedTokens = named,
            ExtraSpecialTokens = extra,
            AddedTokensDecoder = config is { } c ? ReadAddedTokensDecoder(c) : [],
        };
    }

    private static JsonField? ReadDocument(string? path)
    {
        if (path is null || !File.Exists(path))
            return null;
        var bytes = HuggingFaceTokenizer.ReadCapped(path, 64L * 1024 * 1024);
        try
        {
            // Parsed into a clone so the field outlives the document.
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            var root = new JsonField(document.RootElement.Clone(), "", path);
            root.ExpectObject();
            return root;
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"not valid JSON: {e.Message}", innerException: e);
        }
    }

    /// <summary>A special token given as a string or as an AddedToken object (<c>{"content": ...}</c>); special by definition.</summary>
    private static AddedTokenSpec? ReadNamedToken(JsonField field)
    {
        if (field.IsNull)
            return null;
        if (field.Kind == JsonValueKind.String)
            return new AddedTokenSpec(field.GetString(), false, false, false, Normalized: false, Special: true);
        return ReadTokenObject(field, specialDefault: true) with { Special = true };
    }

    private static AddedTokenSpec ReadTokenObject(JsonField field, bool specialDefault)
    {
        field.ExpectObject();
        bool special = field.OptionalBool("special") ?? specialDefault;
        return new AddedTokenSpec(
            field.RequiredString("content"),
            field.OptionalBool("single_word") ?? false,
            field.OptionalBool("lstrip") ?? false,
            field.OptionalBool("rstrip") ?? false,
            field.OptionalBool("normalized") ?? !special,
            special);
    }

    private static void ReadExtraTokens(JsonField? field, List<AddedTokenSpec> output)
    {
        if (field is not { } list) return;
        IEnumerable<JsonField> items = list.Kind == JsonValueKind.Object
            ? list.EnumerateObject().Select(pair => pair.Value)
            : list.EnumerateArray();
        foreach (var item in items)
        {
            if (ReadNamedToken(item) is { } token) output.Add(token);
        }
    }

    private static List<(int Id, AddedTokenSpec Token, string Path)> ReadAddedTokensDecoder(JsonField config)
    {
        var result = new List<(int Id, AddedTokenSpec Token, string Path)>();
        if (config.OptionalNonNull("added_tokens_decoder") is not { } decoder)
            return result;
        foreach (var (key, value) in decoder.EnumerateObject())
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw value.Error("the key must be a non-negative token id.");
            result.Add((id, ReadTokenObject(value, specialDefault: false), value.Path));
        }
        result.Sort((a, b) => a.Id.CompareTo(b.Id));
        return result;
    }
}
