using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>Every problem in a tokenizer file is a <see cref="CheckpointException"/> naming the file and the field.</summary>
public class MalformedFileTests
{
    private static CheckpointException Refused(string json, string? config = null)
    {
        using var file = new TempFile(json);
        string? configPath = config is null ? null : file.Add("tokenizer_config.json", config);
        var error = Assert.Throws<CheckpointException>(() => HuggingFaceTokenizer.Load(file.Path, configPath))!;
        Assert.That(error.FilePath, Is.EqualTo(configPath is not null && error.FilePath == configPath ? configPath : file.Path));
        return error;
    }

    private static string Sample => TokenizerJsonSamples.ByteLevel();

    [Test]
    public void The_samples_themselves_load()
    {
        using var byteLevel = new TempFile(TokenizerJsonSamples.ByteLevel());
        var tokenizer = HuggingFaceTokenizer.Load(byteLevel.Path);
        Assert.That(tokenizer.Encode("hello world"), Is.EqualTo(new[] { 259, 260, 'o', 'r', 'l', 'd' }));
        Assert.That(tokenizer.SuffixIds, Is.EqualTo(new[] { 261 }));

        using var piece = new TempFile(TokenizerJsonSamples.Piece());
        var pieceTokenizer = HuggingFaceTokenizer.Load(piece.Path);
        // "▁a▁b" → ▁a (merge), ▁, b; "é" has no token and falls back to its two UTF-8 bytes C3 A9.
        Assert.That(pieceTokenizer.Encode("a b"), Is.EqualTo(new[] { 262, 259, 261 }));
        Assert.That(pieceTokenizer.Encode("é"), Is.EqualTo(new[] { 259, 0xC3 + 3, 0xA9 + 3 }));
    }

    [TestCase("", "not valid JSON")]
    [TestCase("{\"version\": \"1.0\", \"model\": {", "not valid JSON")]
    [TestCase("[1, 2, 3]", "expected a JSON object")]
    [TestCase("\"tokenizer\"", "expected a JSON object")]
    [TestCase("{\"version\": \"1.0\"}", "required field 'model' is missing")]
    public void Broken_documents_are_refused(string json, string message) =>
        Assert.That(Refused(json).Message, Does.Contain(message));

    [Test]
    public void A_missing_file_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), "lte-missing-" + Guid.NewGuid().ToString("N"), "tokenizer.json");
        var error = Assert.Throws<CheckpointException>(() => HuggingFaceTokenizer.Load(path))!;
        Assert.That(error.FilePath, Is.EqualTo(path));
        Assert.That(error.Message, Does.Contain("not found"));
    }

    [Test]
    public void A_file_over_the_size_cap_is_refused_before_parsing()
    {
        using var file = new TempFile(Sample);
        var error = Assert.Throws<CheckpointException>(() => HuggingFaceTokenizer.ReadCapped(file.Path, 100))!;
        Assert.That(error.Message, Does.Contain("refusing to parse"));
        Assert.That(HuggingFaceTokenizer.MaxTokenizerJsonBytes, Is.EqualTo(512L * 1024 * 1024));
    }

    [Test]
    public void Deeply_nested_json_is_refused()
    {
        string deep = new string('[', 200) + new string(']', 200);
        Assert.That(Refused(Sample.Replace("\"truncation\": null", "\"truncation\": " + deep, StringComparison.Ordinal)).Message, Does.Contain("not valid JSON"));
    }

    [TestCase("WordPiece", "WordPiece models are not supported")]
    [TestCase("Unigram", "Unigram models are not supported")]
    [TestCase("WordLevel", "WordLevel models are not supported")]
    [TestCase("Mystery", "unknown model type 'Mystery'")]
    public void Models_other_than_bpe_are_refused(string type, string message)
    {
        var error = Refused(Sample.Replace("\"type\": \"BPE\"", $"\"type\": \"{type}\"", StringComparison.Ordinal));
        Assert.That(error.Message, Does.Contain("model.type: " + message));
    }

    [TestCase("\"normalizer\": {\"type\": \"NFC\"}", "\"normalizer\": {\"type\": \"BertNormalizer\"}", "normalizer: normalizer type 'BertNormalizer' is not supported")]
    [TestCase("\"normalizer\": {\"type\": \"NFC\"}", "\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"\"}", "normalizer type 'Precompiled' is not supported")]
    [TestCase("\"normalizer\": {\"type\": \"NFC\"}", "\"normalizer\": {\"kind\": \"NFC\"}", "normalizer: required field 'type' is missing")]
    [TestCase("\"normalizer\": {\"type\": \"NFC\"}", "\"normalizer\": \"NFC\"", "normalizer: expected a JSON object, found a string")]
    [TestCase("\"decoder\": {\"type\": \"ByteLevel\"", "\"decoder\": {\"type\": \"WordPiece\"", "decoder: decoder type 'WordPiece' is not supported")]
    [TestCase("\"type\": \"TemplateProcessing\"", "\"type\": \"Whatever\"", "post_processor: post-processor type 'Whatever' is not supported")]
    public void Unknown_pipeline_parts_are_refused(string from, string to, string message) =>
        Assert.That(Refused(Sample.Replace(from, to, StringComparison.Ordinal)).Message, Does.Contain(message));

    [TestCase("{\"type\": \"Whitespace\"}", "pre_tokenizer: pre-tokenizer type 'Whitespace' is not supported")]
    [TestCase("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}]}", "pre_tokenizer.pretokenizers[0]: pre-tokenizer type 'Digits' is not supported")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a++\"}, \"behavior\": \"Isolated\", \"invert\": false}", "pre_tokenizer.pattern.Regex: the regular expression is not supported")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"[[:alpha:]]+\"}, \"behavior\": \"Isolated\", \"invert\": false}", "POSIX bracket")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?m)^a\"}, \"behavior\": \"Isolated\", \"invert\": false}", "inline options")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{Han}+\"}, \"behavior\": \"Isolated\", \"invert\": false}", "the regular expression is not supported")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a*\"}, \"behavior\": \"Isolated\", \"invert\": false}", "matches the empty string")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"String\": \"\"}, \"behavior\": \"Isolated\", \"invert\": false}", "pre_tokenizer.pattern.String: an empty pattern is not supported")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"String\": \"a\", \"Regex\": \"b\"}, \"behavior\": \"Isolated\", \"invert\": false}", "exactly one of 'String' and 'Regex'")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"String\": \"a\"}, \"behavior\": \"Sideways\", \"invert\": false}", "pre_tokenizer.behavior: unknown split behavior 'Sideways'")]
    [TestCase("{\"type\": \"Split\", \"pattern\": {\"String\": \"a\"}, \"behavior\": \"Isolated\"}", "pre_tokenizer: required field 'invert' is missing")]
    [TestCase("{\"type\": \"Metaspace\", \"replacement\": \"ab\", \"prepend_scheme\": \"always\", \"split\": true}", "pre_tokenizer.replacement: must be exactly one character")]
    [TestCase("{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"sometimes\", \"split\": true}", "unknown prepend_scheme 'sometimes'")]
    [TestCase("{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"add_prefix_space\": false, \"prepend_scheme\": \"always\"}", "add_prefix_space does not match declared prepend_scheme")]
    [TestCase("{\"type\": \"ByteLevel\", \"add_prefix_space\": 1}", "pre_tokenizer.add_prefix_space: expected true or false, found 1")]
    public void Bad_pre_tokenizers_are_refused(string preTokenizer, string message) =>
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(preTokenizer: preTokenizer)).Message, Does.Contain(message));

    [TestCase("\"he\":256", "\"he\":-1", "model.vocab['he']: expected a non-negative integer below 2^31, found -1")]
    [TestCase("\"he\":256", "\"he\":1.5", "model.vocab['he']: expected an integer, found 1.5")]
    [TestCase("\"he\":256", "\"he\":255", "id 255 is used by two tokens")]
    [TestCase("\"he\":256", "\"he\":256,\"he\":300", "model.vocab['he']: the token appears twice in the vocabulary")]
    [TestCase("[\"l\", \"l\"]", "[\"x\", \"q\"]", "model.merges[1]: the merge result 'xq' is not in the vocabulary")]
    [TestCase("[\"l\", \"l\"]", "[\"xq\", \"l\"]", "model.merges[1]: token 'xq' is not in the vocabulary")]
    [TestCase("[\"l\", \"l\"]", "[\"l\", \"l\", \"l\"]", "model.merges[1]: a merge must be a pair")]
    [TestCase("[\"l\", \"l\"]", "\"l l\"", "merges mix")]
    [TestCase("\"dropout\": null", "\"dropout\": 0.1", "model.dropout: BPE dropout makes tokenization random")]
    [TestCase("\"unk_token\": null", "\"unk_token\": \"<nope>\"", "model.unk_token: unk_token '<nope>' is not in the vocabulary")]
    [TestCase("\"version\": \"1.0\"", "\"version\": \"2.0\"", "version: unknown tokenizer.json version '2.0'")]
    public void Bad_models_are_refused(string from, string to, string message) =>
        Assert.That(Refused(Sample.Replace(from, to, StringComparison.Ordinal)).Message, Does.Contain(message));

    [Test]
    public void A_merge_string_that_is_not_two_tokens_is_refused()
    {
        string json = TokenizerJsonSamples.Piece().Replace("\"merges\": [\"▁ a\"]", "\"merges\": [\"▁ a\", \"▁a\"]", StringComparison.Ordinal);
        Assert.That(Refused(json).Message, Does.Contain("model.merges[1]: merge '▁a' must be two tokens separated by one space"));
    }

    private static string AddedTokens(params (int Id, string Content, bool Special)[] tokens) =>
        "[" + string.Join(",", tokens.Select(t =>
            $"{{\"id\": {t.Id}, \"content\": \"{t.Content}\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": {(t.Special ? "true" : "false")}}}")) + "]";

    [Test]
    public void Colliding_added_tokens_are_refused()
    {
        // Same content twice with different ids.
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(addedTokens: AddedTokens((261, "<|end|>", true), (262, "<|end|>", true)))).Message,
            Does.Contain("added_tokens[1]: added token '<|end|>' is declared with id 262, but the tokenizers library gives it id 261"));
        // An id reused for a different content.
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(addedTokens: AddedTokens((261, "<|end|>", true), (261, "<y>", true)))).Message,
            Does.Contain("added_tokens[1]: added token '<y>' is declared with id 261, but the tokenizers library gives it id 262"));
        // An id of the vocabulary for a text that is not that token.
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(addedTokens: AddedTokens((65, "<a>", true)))).Message,
            Does.Contain("added_tokens[0]: added token '<a>' is declared with id 65"));
        // A vocabulary token declared with another id.
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(addedTokens: AddedTokens((300, "he", true)))).Message,
            Does.Contain("added token 'he' is declared with id 300, but the tokenizers library gives it id 256"));
        // Missing flags (the library requires all six).
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(addedTokens: "[{\"id\": 261, \"content\": \"<|end|>\"}]")).Message,
            Does.Contain("added_tokens[0]: required field 'single_word' is missing"));
    }

    [Test]
    public void A_vocabulary_token_as_added_token_keeps_its_id()
    {
        using var file = new TempFile(TokenizerJsonSamples.ByteLevel(addedTokens: AddedTokens((256, "he", true)), postProcessor: "null"));
        var tokenizer = HuggingFaceTokenizer.Load(file.Path);
        Assert.That(tokenizer.Encode("ahe"), Is.EqualTo(new[] { 'a', 256 }));
        Assert.That(tokenizer.IsSpecial(256), Is.True);
        Assert.That(tokenizer.Encode("ahe", parseSpecialTokens: false), Is.EqualTo(new[] { 'a', 256 }), "as ordinary text 'he' merges to the same token");
    }

    [Test]
    public void Templates_are_checked()
    {
        string Template(string single, string specials) => TokenizerJsonSamples.ByteLevel(postProcessor:
            $"{{\"type\": \"TemplateProcessing\", \"single\": [{single}], \"pair\": [], \"special_tokens\": {{{specials}}}}}");
        const string A = "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}";
        const string End = "{\"SpecialToken\": {\"id\": \"<|end|>\", \"type_id\": 0}}";
        const string EndDefinition = "\"<|end|>\": {\"id\": \"<|end|>\", \"ids\": [261], \"tokens\": [\"<|end|>\"]}";

        Assert.That(Refused(Template($"{A}, {End}", "")).Message, Does.Contain("post_processor.single[1].SpecialToken: special token '<|end|>' is missing from special_tokens"));
        Assert.That(Refused(Template("{\"Sequence\": {\"id\": \"B\", \"type_id\": 0}}", "")).Message, Does.Contain("can only use sequence A, not 'B'"));
        Assert.That(Refused(Template($"{A}, {A}", "")).Message, Does.Contain("must contain sequence A exactly once, not 2 times"));
        Assert.That(Refused(Template(End, EndDefinition)).Message, Does.Contain("not 0 times"));
        Assert.That(Refused(Template($"{A}, {End}", EndDefinition.Replace("[261]", "[999]", StringComparison.Ordinal))).Message,
            Does.Contain("post_processor.special_tokens['<|end|>'].ids[0]: token id 999 is not in the vocabulary"));
        Assert.That(Refused(Template($"{A}, {End}", EndDefinition.Replace("[261]", "[261, 262]", StringComparison.Ordinal))).Message,
            Does.Contain("'ids' and 'tokens' must have the same length"));
        Assert.That(Refused(Template($"{A}, {{\"Other\": {{}}}}", "")).Message, Does.Contain("expected a 'Sequence' or 'SpecialToken' piece"));
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(postProcessor: "{\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 5000], \"cls\": [\"[CLS]\", 1]}")).Message,
            Does.Contain("post_processor.sep[1]: token id 5000 is not in the vocabulary"));
        // Two processors that add tokens one after the other: the library would apply the second one's pair template.
        string twice = $"{{\"type\": \"Sequence\", \"processors\": [{{\"type\": \"TemplateProcessing\", \"single\": [{A}, {End}], \"pair\": [], \"special_tokens\": {{{EndDefinition}}}}}, {{\"type\": \"TemplateProcessing\", \"single\": [{A}, {End}], \"pair\": [], \"special_tokens\": {{{EndDefinition}}}}}]}}";
        Assert.That(Refused(TokenizerJsonSamples.ByteLevel(postProcessor: twice)).Message, Does.Contain("post_processor.processors[1]: a second post-processor that adds special tokens"));
    }

    [Test]
    public void A_string_with_an_invalid_escape_is_refused()
    {
        Assert.That(Refused(Sample.Replace("\"<x>\"", "\"\\ud800\"", StringComparison.Ordinal)).Message,
            Does.Contain("added_tokens[1].content: holds a string that is not valid Unicode"));
    }

    [TestCase("{\"add_bos_token\": \"yes\"}", "add_bos_token: expected true or false, found a string")]
    [TestCase("{\"bos_token\": 5}", "bos_token: expected a JSON object, found 5")]
    [TestCase("{\"bos_token\": {\"lstrip\": true}}", "bos_token: required field 'content' is missing")]
    [TestCase("{\"added_tokens_decoder\": {\"abc\": {\"content\": \"x\"}}}", "added_tokens_decoder['abc']: the key must be a non-negative token id")]
    [TestCase("{\"added_tokens_decoder\": {\"5000\": {\"content\": \"<|end|>\"}}}", "added_tokens_decoder['5000']: added token '<|end|>' is declared with id 5000, but the tokenizers library gives it id 261")]
    [TestCase("{\"additional_special_tokens\": \"<x>\"}", "additional_special_tokens: expected an array, found a string")]
    [TestCase("[]", "expected a JSON object, found an array")]
    [TestCase("{\"tokenizer_class\": 7}", "tokenizer_class: expected a string, found 7")]
    [TestCase("{", "not valid JSON")]
    public void Bad_tokenizer_configs_are_refused_naming_the_config(string config, string message)
    {
        using var file = new TempFile(Sample);
        string configPath = file.Add("tokenizer_config.json", config);
        var error = Assert.Throws<CheckpointException>(() => HuggingFaceTokenizer.Load(file.Path, configPath))!;
        Assert.That(error.FilePath, Is.EqualTo(configPath));
        Assert.That(error.Message, Does.Contain(message));
    }
}
