using System.Globalization;
using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>
/// Turns the parts of a tokenizer.json into the pipeline objects, with the field-level validation of the
/// tokenizers library's serde code and more (ids, merges, templates), so a hostile file ends in a
/// <see cref="CheckpointException"/> that names the field.
/// </summary>
internal static class TokenizerJsonReader
{
    private static string TypeOf(JsonField field)
    {
        field.ExpectObject();
        return field.RequiredString("type");
    }

    private static CheckpointException Unsupported(JsonField field, string kind, string type, string known) =>
        field.Error($"{kind} type '{JsonField.Shorten(type)}' is not supported; supported: {known}.");

    // ---------------------------------------------------------------- normalizers

    public static ITextNormalizer? ReadNormalizer(JsonField field)
    {
        if (field.IsNull)
            return null;
        string type = TypeOf(field);
        switch (type)
        {
            case "NFC": return new UnicodeFormNormalizer(NormalizationForm.FormC);
            case "NFD": return new UnicodeFormNormalizer(NormalizationForm.FormD);
            case "NFKC": return new UnicodeFormNormalizer(NormalizationForm.FormKC);
            case "NFKD": return new UnicodeFormNormalizer(NormalizationForm.FormKD);
            case "Lowercase": return new LowercaseNormalizer();
            case "Prepend": return new PrependNormalizer(field.RequiredString("prepend"));
            case "Replace":
                return new ReplaceNormalizer(TextPattern.Read(field.RequiredNonNull("pattern")), field.RequiredString("content"));
            case "Strip":
                return new StripNormalizer(field.RequiredBool("strip_left"), field.RequiredBool("strip_right"));
            case "Sequence":
                return new SequenceNormalizer(field.RequiredNonNull("normalizers").EnumerateArray()
                    .Select(item => ReadNormalizer(item) ?? throw item.Error("a normalizer in a Sequence must not be null.")).ToList());
            default:
                throw Unsupported(field, "normalizer", type, "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence");
        }
    }

    // ---------------------------------------------------------------- pre-tokenizers

    public static IPreTokenizer? ReadPreTokenizer(JsonField field)
    {
        if (field.IsNull)
            return null;
        string type = TypeOf(field);
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer(field.RequiredNonNull("pretokenizers").EnumerateArray()
                    .Select(item => ReadPreTokenizer(item) ?? throw item.Error("a pre-tokenizer in a Sequence must not be null.")).ToList());
            case "Split":
                return new SplitPreTokenizer(
                    TextPattern.Read(field.RequiredNonNull("pattern")),
                    ReadBehavior(field.RequiredNonNull("behavior")),
                    field.RequiredBool("invert"));
            case "ByteLevel":
                return new ByteLevelPreTokenizer(
                    field.RequiredBool("add_prefix_space"),
                    field.OptionalBool("use_regex") ?? true ? TextPattern.FromRegex(TextPattern.Gpt2Regex, field.FilePath, field.Path + " (GPT-2 regex)") : null);
            case "Metaspace":
            {
                var (replacement, scheme, split) = ReadMetaspace(field);
                return new MetaspacePreTokenizer(replacement, scheme, split);
            }
            default:
                throw Unsupported(field, "pre-tokenizer", type, "Sequence, Split, ByteLevel, Metaspace");
        }
    }

    private static SplitBehavior ReadBehavior(JsonField field) => field.GetString() switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        var other => throw field.Error($"unknown split behavior '{JsonField.Shorten(other)}'; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous."),
    };

    /// <summary>Metaspace's fields, including the legacy <c>add_prefix_space</c> that older files carry.</summary>
    private static (string Replacement, PrependScheme Scheme, bool Split) ReadMetaspace(JsonField field)
    {
        string replacement = ReadSingleCharacter(field.RequiredNonNull("replacement"));
        var scheme = PrependScheme.Always;
        if (field.OptionalNonNull("prepend_scheme") is { } schemeField)
        {
            scheme = schemeField.GetString() switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                var other => throw schemeField.Error($"unknown prepend_scheme '{JsonField.Shorten(other)}'; expected always, first or never."),
            };
        }
        if (field.OptionalBool("add_prefix_space") == false)
        {
            if (scheme != PrependScheme.Never && field.OptionalNonNull("prepend_scheme") is not null)
                throw field.Error("add_prefix_space does not match declared prepend_scheme.");
            scheme = PrependScheme.Never;
        }
        return (replacement, scheme, field.OptionalBool("split") ?? true);
    }

    /// <summary>A Rust <c>char</c>: a string of exactly one Unicode scalar value.</summary>
    private static string ReadSingleCharacter(JsonField field)
    {
        string text = field.GetString();
        if (Rune.DecodeFromUtf16(text, out _, out int consumed) != System.Buffers.OperationStatus.Done || consumed != text.Length)
            throw field.Error("must be exactly one character.");
        return text;
    }

    // ---------------------------------------------------------------- decoders

    public static ITokenDecoder? ReadDecoder(JsonField field)
    {
        if (field.IsNull)
            return null;
        string type = TypeOf(field);
        switch (type)
        {
            case "ByteLevel": return new ByteLevelDecoder();
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
            {
                string content = ReadSingleCharacter(field.RequiredNonNull("content"));
                return new StripDecoder(char.ConvertToUtf32(content, 0), field.RequiredNonNull("start").GetNonNegativeInt(), field.RequiredNonNull("stop").GetNonNegativeInt());
            }
            case "Replace":
                return new ReplaceDecoder(TextPattern.Read(field.RequiredNonNull("pattern")), field.RequiredString("content"));
            case "Metaspace":
            {
                var (replacement, scheme, _) = ReadMetaspace(field);
                return new MetaspaceDecoder(replacement, scheme);
            }
            case "BPEDecoder": return new BpeSuffixDecoder(field.OptionalString("suffix") ?? "</w>");
            case "Sequence":
                return new SequenceDecoder(field.RequiredNonNull("decoders").EnumerateArray()
                    .Select(item => ReadDecoder(item) ?? throw item.Error("a decoder in a Sequence must not be null.")).ToList());
            default:
                throw Unsupported(field, "decoder", type, "ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder, Sequence");
        }
    }

    // ---------------------------------------------------------------- post-processors

    /// <summary>
    /// What a post-processor adds around a single sequence when <c>add_special_tokens</c> is true.
    /// <see cref="Pieces"/> counts the encodings the library hands on to the next processor of a Sequence.
    /// </summary>
    public sealed record PostProcessorEffect(int[] Prefix, int[] Suffix, int Pieces)
    {
        public static readonly PostProcessorEffect None = new([], [], 1);
    }

    public static PostProcessorEffect ReadPostProcessor(JsonField field, Func<int, bool> idExists)
    {
        if (field.IsNull)
            return PostProcessorEffect.None;
        string type = TypeOf(field);
        switch (type)
        {
            case "ByteLevel":
                return PostProcessorEffect.None; // offsets only
            case "TemplateProcessing":
                return ReadTemplate(field, idExists);
            case "BertProcessing":
            case "RobertaProcessing":
            {
                int cls = ReadTokenPair(field.RequiredNonNull("cls"), idExists);
                int sep = ReadTokenPair(field.RequiredNonNull("sep"), idExists);
                return new PostProcessorEffect([cls], [sep], 1); // one encoding per input, [CLS] and [SEP] inside
            }
            case "Sequence":
            {
                var combined = PostProcessorEffect.None;
                foreach (var item in field.RequiredNonNull("processors").EnumerateArray())
                {
                    var effect = ReadPostProcessor(item, idExists);
                    bool addsTokens = effect.Prefix.Length + effect.Suffix.Length > 0;
                    // After a processor that added tokens the library passes several encodings on, and a
                    // template then applies its *pair* form (or panics): not a single-sequence wrapper any more.
                    if (addsTokens && combined.Pieces > 1)
                        throw item.Error("a second post-processor that adds special tokens after another one is not supported (the tokenizers library would treat the pieces as a pair).");
                    combined = new PostProcessorEffect([.. effect.Prefix, .. combined.Prefix], [.. combined.Suffix, .. effect.Suffix],
                        addsTokens ? effect.Pieces : combined.Pieces);
                }
                return combined;
            }
            default:
                throw Unsupported(field, "post-processor", type, "ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence");
        }
    }

    /// <summary>BertProcessing/RobertaProcessing's <c>["[CLS]", 101]</c>.</summary>
    private static int ReadTokenPair(JsonField field, Func<int, bool> idExists)
    {
        var items = field.EnumerateArray().ToList();
        if (items.Count != 2)
            throw field.Error("expected [token, id].");
        items[0].GetString();
        int id = items[1].GetNonNegativeInt();
        if (!idExists(id))
            throw items[1].Error($"token id {id.ToString(CultureInfo.InvariantCulture)} is not in the vocabulary.");
        return id;
    }

    private static PostProcessorEffect ReadTemplate(JsonField field, Func<int, bool> idExists)
    {
        // special_tokens: { name: { id, ids: [...], tokens: [...] } }
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (field.OptionalNonNull("special_tokens") is { } map)
        {
            foreach (var (name, token) in map.EnumerateObject())
            {
                token.ExpectObject();
                var ids = token.RequiredNonNull("ids").EnumerateArray().Select(id => (Field: id, Value: id.GetNonNegativeInt())).ToList();
                var tokens = token.RequiredNonNull("tokens").EnumerateArray().Select(t => t.GetString()).ToList();
                if (ids.Count != tokens.Count)
                    throw token.Error("'ids' and 'tokens' must have the same length.");
                foreach (var (idField, value) in ids)
                {
                    if (!idExists(value))
                        throw idField.Error($"token id {value.ToString(CultureInfo.InvariantCulture)} is not in the vocabulary.");
                }
                specials[name] = ids.Select(id => id.Value).ToArray();
            }
        }

        var prefix = new List<int>();
        var suffix = new List<int>();
        int sequences = 0, pieces = 0;
        foreach (var piece in field.RequiredNonNull("single").EnumerateArray())
        {
            piece.ExpectObject();
            pieces++;
            if (piece.Optional("Sequence") is { } sequence)
            {
                string id = sequence.RequiredString("id");
                if (id != "A")
                    throw sequence.Error($"the single-sequence template can only use sequence A, not '{JsonField.Shorten(id)}'.");
                sequence.RequiredNonNull("type_id").GetNonNegativeInt();
                sequences++;
            }
            else if (piece.Optional("SpecialToken") is { } special)
            {
                string id = special.RequiredString("id");
                special.RequiredNonNull("type_id").GetNonNegativeInt();
                if (!specials.TryGetValue(id, out var ids))
                    throw special.Error($"special token '{JsonField.Shorten(id)}' is missing from special_tokens.");
                (sequences == 0 ? prefix : suffix).AddRange(ids);
            }
            else
            {
                throw piece.Error("expected a 'Sequence' or 'SpecialToken' piece.");
            }
        }
        if (sequences != 1)
            throw field.Error($"the single-sequence template must contain sequence A exactly once, not {sequences.ToString(CultureInfo.InvariantCulture)} times.");
        // The pair template is never used for single texts; the library does not check it when loading either.
        return new PostProcessorEffect(prefix.ToArray(), suffix.ToArray(), pieces);
    }

    // ---------------------------------------------------------------- added tokens

    public static List<(AddedTokenSpec Token, int DeclaredId, string Path)> ReadAddedTokens(JsonField? field)
    {
        var result = new List<(AddedTokenSpec Token, int DeclaredId, string Path)>();
        if (field is not { IsNull: false } list)
            return result;
        foreach (var item in list.EnumerateArray())
        {
            item.ExpectObject();
            var token = new AddedTokenSpec(
                item.RequiredString("content"),
                item.RequiredBool("single_word"),
                item.RequiredBool("lstrip"),
                item.RequiredBool("rstrip"),
                item.RequiredBool("normalized"),
                item.RequiredBool("special"));
            result.Add((token, item.RequiredNonNull("id").GetNonNegativeInt(), item.Path));
        }
        return result;
    }

    // ---------------------------------------------------------------- model

    /// <summary>The BPE model's vocabulary and settings, checked the way <c>BpeBuilder::build</c> checks them.</summary>
    public sealed record ModelData(
        BpeModel Model,
        Dictionary<string, int> Vocab,
        Dictionary<int, string> IdToToken);

    public static ModelData ReadModel(JsonField field)
    {
        field.ExpectObject();
        string? type = field.OptionalString("type");
        if (type is null && field.Optional("merges") is null)
            throw field.Error("the model has no 'type'; only BPE models are supported.");
        if (type is not null and not "BPE")
        {
            string why = type is "WordPiece" or "WordLevel" or "Unigram"
                ? $"{type} models are not supported; only BPE (GPT-2, Llama, Mistral and Qwen style) is implemented."
                : $"unknown model type '{JsonField.Shorten(type)}'; only BPE is supported.";
            throw field.Required("type").Error(why);
        }

        if (field.OptionalNonNull("dropout") is { } dropout && dropout.GetDouble() != 0)
            throw dropout.Error("BPE dropout makes tokenization random; only null (or 0) is supported.");

        var vocabField = field.RequiredNonNull("vocab");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var idToToken = new Dictionary<int, string>();
        foreach (var (token, idField) in vocabField.EnumerateObject())
        {
            int id = idField.GetNonNegativeInt();
            if (!vocab.TryAdd(token, id))
                throw idField.Error("the token appears twice in the vocabulary.");
            if (!idToToken.TryAdd(id, token))
                throw idField.Error($"id {id.ToString(CultureInfo.InvariantCulture)} is used by two tokens ('{JsonField.Shorten(idToToken[id])}' and this one).");
        }

        string? prefix = field.OptionalString("continuing_subword_prefix");
        string? suffix = field.OptionalString("end_of_word_suffix");
        var merges = ReadMerges(field.RequiredNonNull("merges"), vocab, prefix);

        int? unkId = null;
        if (field.OptionalNonNull("unk_token") is { } unkField)
        {
            string unk = unkField.GetString();
            // The library fails on the first unknown character instead; failing at load time is clearer.
            unkId = vocab.TryGetValue(unk, out var id) ? id : throw unkField.Error($"unk_token '{JsonField.Shorten(unk)}' is not in the vocabulary.");
        }

        var model = new BpeModel(vocab, merges, unkId,
            field.OptionalBool("fuse_unk") ?? false,
            field.OptionalBool("byte_fallback") ?? false,
            field.OptionalBool("ignore_merges") ?? false,
            prefix, suffix);
        return new ModelData(model, vocab, idToToken);
    }

    private static Dictionary<long, (int Rank, int NewId)> ReadMerges(JsonField field, Dictionary<string, int> vocab, string? prefix)
    {
        var merges = new Dictionary<long, (int Rank, int NewId)>(field.ArrayLength(), BpeModel.PairKeyComparer.Instance);
        bool? pairs = null;
        int rank = 0;
        foreach (var item in field.EnumerateArray())
        {
            string left, right;
            if (item.Kind == JsonValueKind.String)
            {
                if (pairs == true)
                    throw item.Error("merges mix \"a b\" strings and [\"a\", \"b\"] pairs.");
                pairs = false;
                string line = item.GetString();
                if (line.StartsWith("#version", StringComparison.Ordinal))
                    continue; // a merges.txt header, skipped by the library
                var parts = line.Split(' ');
                if (parts.Length != 2)
                    throw item.Error($"merge '{JsonField.Shorten(line)}' must be two tokens separated by one space.");
                (left, right) = (parts[0], parts[1]);
            }
            else
            {
                if (pairs == false)
                    throw item.Error("merges mix \"a b\" strings and [\"a\", \"b\"] pairs.");
                pairs = true;
                if (item.ArrayLength() != 2)
                    throw item.Error("a merge must be a pair [\"a\", \"b\"].");
                (left, right) = (item.At(0).GetString(), item.At(1).GetString());
            }

            if (!vocab.TryGetValue(left, out var leftId))
                throw item.Error($"token '{JsonField.Shorten(left)}' is not in the vocabulary.");
            if (!vocab.TryGetValue(right, out var rightId))
                throw item.Error($"token '{JsonField.Shorten(right)}' is not in the vocabulary.");
            // The merged token is a + b without b's continuing-subword prefix.
            string tail = right;
            if (!string.IsNullOrEmpty(prefix))
            {
                if (!right.StartsWith(prefix, StringComparison.Ordinal))
                    throw item.Error($"token '{JsonField.Shorten(right)}' does not start with the continuing_subword_prefix '{JsonField.Shorten(prefix)}'.");
                tail = right[prefix.Length..];
            }
            string merged = left + tail;
            if (!vocab.TryGetValue(merged, out var mergedId))
                throw item.Error($"the merge result '{JsonField.Shorten(merged)}' is not in the vocabulary.");
            // A repeated pair keeps its last rank, as the library's HashMap collect does.
            merges[BpeModel.PairKey(leftId, rightId)] = (rank, mergedId);
            rank++;
        }
        return merges;
    }
}
