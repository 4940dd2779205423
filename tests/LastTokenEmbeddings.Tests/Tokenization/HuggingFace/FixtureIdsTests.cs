namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>Every fixture text encodes to the ids transformers / the tokenizers library produced for it.</summary>
public class FixtureIdsTests
{
    private const int QwenEndOfText = 151643;

    private static IEnumerable<TestCaseData> Texts(string fixture) =>
        HuggingFaceFixtures.References(fixture).Select((_, i) => new TestCaseData(fixture, i).SetName($"{fixture} text #{i}"));

    private static IEnumerable<TestCaseData> QwenTexts() => Texts("tiny-qwen3").Concat(Texts("tiny-qwen2"));

    [TestCaseSource(nameof(QwenTexts))]
    public void Qwen_raw_and_query_ids_match_transformers(string fixture, int index)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        var (text, ids) = HuggingFaceFixtures.References(fixture)[index];
        string task = HuggingFaceFixtures.ReferenceString(fixture, "task");

        Assert.That(tokenizer.PrefixIds, Is.Empty);
        Assert.That(tokenizer.SuffixIds, Is.Empty);
        Assert.That(tokenizer.Encode(text), Is.EqualTo(ids["raw"]));
        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(ids["raw"]));
        Assert.That(tokenizer.Encode($"Instruct: {task}\nQuery:{text}").Append(QwenEndOfText), Is.EqualTo(ids["embed_query"]));
        Assert.That(tokenizer.Encode(text).Append(QwenEndOfText), Is.EqualTo(ids["embed_document"]));
    }

    private static IEnumerable<TestCaseData> QwenEmbeddingTexts() =>
        HuggingFaceFixtures.References("tiny-qwen3").Select((_, i) => new TestCaseData(i).SetName($"tiny-qwen3-embedding text #{i}"));

    [TestCaseSource(nameof(QwenEmbeddingTexts))]
    public void Qwen3_embedding_post_processor_appends_endoftext(int index)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer("tiny-qwen3-embedding");
        var (text, ids) = HuggingFaceFixtures.References("tiny-qwen3")[index];

        Assert.That(tokenizer.PrefixIds, Is.Empty);
        Assert.That(tokenizer.SuffixIds, Is.EqualTo(new[] { QwenEndOfText }));
        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(ids["embed_document"]));
    }

    private static IEnumerable<TestCaseData> LlamaTexts() => Texts("tiny-llama").Concat(Texts("tiny-llama3-rope"));

    [TestCaseSource(nameof(LlamaTexts))]
    public void Llama_ids_match_the_tokenizers_library(string fixture, int index)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        var (text, ids) = HuggingFaceFixtures.References(fixture)[index];
        int[] expected = ids["raw"];
        if (text == "  leading and trailing spaces  ")
        {
            // transformers 5 rebuilds LlamaTokenizer's pipeline (Metaspace, no Prepend normalizer) and gets
            // [1, 28705, 5374, ...]; the tokenizers library on this tokenizer.json gives "▁▁▁leading" → ▁▁ + ▁leading.
            Assert.That(expected[..2], Is.EqualTo(new[] { 1, 28705 }), "the reference holds transformers' ids");
            expected = [1, 259, .. expected[2..]];
        }

        Assert.That(tokenizer.PrefixIds, Is.EqualTo(new[] { 1 }));
        Assert.That(tokenizer.SuffixIds, Is.Empty);
        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(expected));
    }

    private static IEnumerable<TestCaseData> MistralTexts() => Texts("tiny-mistral");

    [TestCaseSource(nameof(MistralTexts))]
    public void Mistral_ids_match_transformers(string fixture, int index)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        var (text, ids) = HuggingFaceFixtures.References(fixture)[index];
        string task = HuggingFaceFixtures.ReferenceString(fixture, "e5_task");

        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(ids["raw"]));
        Assert.That(tokenizer.WithSpecialTokens($"Instruct: {task}\nQuery: {text}").Append(2), Is.EqualTo(ids["e5"]));
    }

    private static IEnumerable<TestCaseData> MistralCases() =>
        HuggingFaceFixtures.MistralCases().Select((_, i) => new TestCaseData(i).SetName($"tokenizer-cases.json #{i}"));

    [TestCaseSource(nameof(MistralCases))]
    public void Mistral_tokenizer_cases_match_sentencepiece(int index)
    {
        var (text, ids) = HuggingFaceFixtures.MistralCases()[index];
        Assert.That(HuggingFaceFixtures.Tokenizer("tiny-mistral").WithSpecialTokens(text), Is.EqualTo(ids));
    }

    [Test]
    public void Special_token_ids_come_from_the_config_files()
    {
        var qwen = HuggingFaceFixtures.Tokenizer("tiny-qwen3");
        Assert.That(qwen.BosTokenId, Is.Null);
        Assert.That(qwen.EosTokenId, Is.EqualTo(151645)); // <|im_end|>
        Assert.That(qwen.PadTokenId, Is.EqualTo(QwenEndOfText));
        Assert.That(qwen.UnkTokenId, Is.Null);
        Assert.That(qwen.VocabularySize, Is.EqualTo(151669));

        var mistral = HuggingFaceFixtures.Tokenizer("tiny-mistral");
        Assert.That((mistral.BosTokenId, mistral.EosTokenId, mistral.UnkTokenId, mistral.PadTokenId), Is.EqualTo(((int?)1, (int?)2, (int?)0, (int?)null)));
        Assert.That(mistral.VocabularySize, Is.EqualTo(32000));
    }
}
