using System.Text.Json.Nodes;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>
/// The tokenizer_config.json settings that transformers applies on top of tokenizer.json (see
/// docs/tokenizer-json.md): add_bos_token/add_eos_token, add_prefix_space, split_special_tokens,
/// added_tokens_decoder, the named special tokens and the special_tokens_map.json fallback.
/// </summary>
public class TokenizerConfigTests
{
    private const int QwenImEnd = 151645;

    /// <summary>The fixture's tokenizer.json with its tokenizer_config.json edited.</summary>
    private static HuggingFaceTokenizer WithConfig(string fixture, Action<JsonObject> edit, string? specialTokensMap = null)
    {
        string folder = HuggingFaceFixtures.Directory(fixture);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!.AsObject();
        edit(config);
        using var file = new TempFile(config.ToJsonString(), "tokenizer_config.json");
        string? map = specialTokensMap is null ? null : file.Add("special_tokens_map.json", specialTokensMap);
        return HuggingFaceTokenizer.Load(Path.Combine(folder, "tokenizer.json"), file.Path, map);
    }

    [Test]
    public void Llama_class_add_eos_token_appends_eos()
    {
        var tokenizer = WithConfig("tiny-mistral", c => c["add_eos_token"] = true);
        Assert.That(tokenizer.PrefixIds, Is.EqualTo(new[] { 1 }));
        Assert.That(tokenizer.SuffixIds, Is.EqualTo(new[] { 2 }));
        Assert.That(tokenizer.WithSpecialTokens("Hello world!"), Is.EqualTo(new[] { 1, 22557, 1526, 28808, 2 }));
    }

    [Test]
    public void Llama_class_add_bos_token_false_drops_the_bos_of_the_tokenizer_json_template()
    {
        var tokenizer = WithConfig("tiny-mistral", c => c["add_bos_token"] = false);
        Assert.That(tokenizer.PrefixIds, Is.Empty);
        Assert.That(tokenizer.SuffixIds, Is.Empty);
    }

    [Test]
    public void Llama_class_without_the_flags_adds_bos_as_transformers_defaults()
    {
        var tokenizer = WithConfig("tiny-mistral", c => { c.Remove("add_bos_token"); c.Remove("add_eos_token"); });
        Assert.That((tokenizer.PrefixIds, tokenizer.SuffixIds), Is.EqualTo((new[] { 1 }, Array.Empty<int>())));
    }

    [Test]
    public void Other_classes_keep_the_tokenizer_json_post_processor_unless_a_flag_is_true()
    {
        var keeps = WithConfig("tiny-mistral", c => { c["tokenizer_class"] = "PreTrainedTokenizerFast"; c["add_bos_token"] = false; });
        Assert.That(keeps.PrefixIds, Is.EqualTo(new[] { 1 }), "tokenizer.json's template adds <s>");

        var qwenEos = WithConfig("tiny-qwen3", c => c["add_eos_token"] = true);
        Assert.That(qwenEos.SuffixIds, Is.EqualTo(new[] { QwenImEnd }), "eos_token is <|im_end|>");
        Assert.That(qwenEos.PrefixIds, Is.Empty, "add_bos_token is false");

        var qwenBos = WithConfig("tiny-qwen3", c => c["add_bos_token"] = true);
        Assert.That((qwenBos.PrefixIds, qwenBos.SuffixIds), Is.EqualTo((Array.Empty<int>(), Array.Empty<int>())), "bos_token is null: nothing to add");

        // Qwen3-Embedding: add_bos_token false and no add_eos_token: the file's <|endoftext|> suffix stands.
        Assert.That(HuggingFaceFixtures.Tokenizer("tiny-qwen3-embedding").SuffixIds, Is.EqualTo(new[] { 151643 }));
    }

    [Test]
    public void A_named_special_token_missing_from_the_vocabulary_is_added_as_transformers_adds_it()
    {
        var tokenizer = WithConfig("tiny-mistral", c => c["bos_token"] = "<BOS>");
        Assert.That(tokenizer.BosTokenId, Is.EqualTo(32000));
        Assert.That(tokenizer.VocabularySize, Is.EqualTo(32001));
        Assert.That(tokenizer.PrefixIds, Is.EqualTo(new[] { 32000 }));
        Assert.That(tokenizer.IsSpecial(32000), Is.True);
        Assert.That(tokenizer.Encode("x<BOS>"), Is.EqualTo(new[] { 1318, 32000 }), "▁x, then the new token");
    }

    [Test]
    public void Added_tokens_decoder_adds_tokens_and_overrides_flags()
    {
        var tokenizer = WithConfig("tiny-qwen3", c =>
        {
            var decoder = c["added_tokens_decoder"]!.AsObject();
            decoder["151669"] = new JsonObject { ["content"] = "<extra>", ["special"] = true, ["normalized"] = false };
            decoder["151645"]!["rstrip"] = true;
        });
        Assert.That(tokenizer.VocabularySize, Is.EqualTo(151670));
        Assert.That(tokenizer.Encode("a<extra>b"), Is.EqualTo(new[] { 64, 151669, 65 }));
        Assert.That(tokenizer.IsSpecial(151669), Is.True);
        // rstrip: the spaces after <|im_end|> belong to it.
        Assert.That(tokenizer.Encode("a<|im_end|>   b"), Is.EqualTo(new[] { 64, QwenImEnd, 65 }));
    }

    [Test]
    public void Split_special_tokens_in_the_config_is_the_default_for_encode()
    {
        var tokenizer = WithConfig("tiny-qwen3", c => c["split_special_tokens"] = true);
        Assert.That(tokenizer.SplitSpecialTokensByDefault, Is.True);
        Assert.That(tokenizer.Encode("a<|im_end|>b"), Is.EqualTo(new[] { 64, 27, 91, 318, 6213, 91, 29, 65 }));
        Assert.That(tokenizer.Encode("a<|im_end|>b", parseSpecialTokens: true), Is.EqualTo(new[] { 64, QwenImEnd, 65 }));
    }

    [Test]
    public void Split_special_tokens_is_also_the_default_of_a_sentencepiece_tokenizer_model()
    {
        string folder = HuggingFaceFixtures.Directory("tiny-mistral");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!.AsObject();
        config["split_special_tokens"] = true;
        using var file = new TempFile(config.ToJsonString(), "tokenizer_config.json");
        var split = LastTokenEmbeddings.Tokenization.SentencePieceTokenizer.Load(Path.Combine(folder, "tokenizer.model"), file.Path);
        var parsing = LastTokenEmbeddings.Tokenization.SentencePieceTokenizer.Load(Path.Combine(folder, "tokenizer.model"), Path.Combine(folder, "tokenizer_config.json"));
        Assert.That(parsing.Encode("a</s>b", null), Does.Contain(2), "the fixture's config parses </s> into the EOS id");
        Assert.That(split.Encode("a</s>b", null), Does.Not.Contain(2));
        Assert.That(split.Encode("a</s>b", null), Is.EqualTo(parsing.Encode("a</s>b", parseSpecialTokens: false)));
        Assert.That(split.Encode("a</s>b", parseSpecialTokens: true), Is.EqualTo(parsing.Encode("a</s>b", null)), "an explicit policy wins");
    }

    [Test]
    public void Add_prefix_space_overrides_byte_level_on_every_piece()
    {
        var original = HuggingFaceFixtures.Tokenizer("tiny-qwen3");
        var tokenizer = WithConfig("tiny-qwen3", c => c["add_prefix_space"] = true);
        Assert.That(tokenizer.Encode("Where is"), Is.EqualTo(original.Encode(" Where is")));
        // The Split pre-tokenizer runs first ("a", "1", "b"), so every piece without a leading space gets one.
        Assert.That(tokenizer.Encode("a1b"), Is.EqualTo(original.Encode(" a").Concat(original.Encode(" 1")).Concat(original.Encode(" b"))));
    }

    [TestCase("never", null, true, new[] { 262, 259, 261 })]  // → always: "▁a▁b" → ▁a, ▁ b
    [TestCase("never", null, false, new[] { 260, 259, 261 })] // "a▁b" → a, ▁ b
    [TestCase("always", null, false, new[] { 260, 259, 261 })]
    [TestCase("first", "false", true, new[] { 262, 259, 261 })]
    public void Add_prefix_space_sets_the_metaspace_scheme(string scheme, string? legacy, bool addPrefixSpace, int[] expected)
    {
        string json = TokenizerJsonSamples.Piece(normalizer: "null",
            preTokenizer: $$"""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "{{scheme}}", "split": true}""");
        using var file = new TempFile(json);
        string config = file.Add("tokenizer_config.json",
            $$"""{"add_prefix_space": {{(addPrefixSpace ? "true" : "false")}}{{(legacy is null ? "" : $", \"legacy\": {legacy}")}}}""");
        Assert.That(HuggingFaceTokenizer.Load(file.Path, config).Encode("a b"), Is.EqualTo(expected));
    }

    [Test]
    public void Legacy_does_not_change_ids_from_tokenizer_json()
    {
        var tokenizer = WithConfig("tiny-llama", c => c["legacy"] = false);
        var (text, ids) = HuggingFaceFixtures.References("tiny-llama")[0];
        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(ids["raw"]));
    }

    [Test]
    public void Special_tokens_map_fills_in_what_the_config_does_not_name()
    {
        var tokenizer = WithConfig("tiny-mistral", c => { c.Remove("bos_token"); c.Remove("eos_token"); c["pad_token"] = null; },
            specialTokensMap: """{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}""");
        Assert.That(tokenizer.BosTokenId, Is.EqualTo(1));
        Assert.That(tokenizer.EosTokenId, Is.EqualTo(2));
        Assert.That(tokenizer.PadTokenId, Is.Null, "the config's explicit null wins");

        var padFromMap = WithConfig("tiny-mistral", c => c.Remove("pad_token"), specialTokensMap: """{"pad_token": "</s>"}""");
        Assert.That(padFromMap.PadTokenId, Is.EqualTo(2));
    }

    [Test]
    public void Missing_config_files_mean_no_config()
    {
        string folder = HuggingFaceFixtures.Directory("tiny-mistral");
        var tokenizer = HuggingFaceTokenizer.Load(Path.Combine(folder, "tokenizer.json"), Path.Combine(folder, "absent.json"), null);
        Assert.That(tokenizer.PrefixIds, Is.EqualTo(new[] { 1 }), "tokenizer.json's template");
        Assert.That(tokenizer.BosTokenId, Is.Null);
        Assert.That(tokenizer.TokenToId("<s>"), Is.EqualTo(1));
    }
}
