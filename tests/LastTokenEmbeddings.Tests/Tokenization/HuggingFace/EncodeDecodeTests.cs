using System.Collections.Concurrent;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>Special tokens written in text, decoding, token lookups and concurrent use.</summary>
public class EncodeDecodeTests
{
    private static HuggingFaceTokenizer Qwen => HuggingFaceFixtures.Tokenizer("tiny-qwen3");

    private static HuggingFaceTokenizer Llama => HuggingFaceFixtures.Tokenizer("tiny-llama");

    // Expected ids below are the tokenizers library's (Oracle/oracle-cases.json).
    [Test]
    public void Special_tokens_in_text_are_recognised_unless_asked_not_to()
    {
        Assert.That(Qwen.Encode("a<|im_end|>b"), Is.EqualTo(new[] { 64, 151645, 65 }));
        Assert.That(Qwen.Encode("a<|im_end|>b", parseSpecialTokens: false), Is.EqualTo(new[] { 64, 27, 91, 318, 6213, 91, 29, 65 }));
        // Each piece around </s> gets the legacy normalizer's ▁ of its own: ▁x, </s>, ▁y.
        Assert.That(Llama.Encode("x</s>y"), Is.EqualTo(new[] { 1318, 2, 337 }));
        Assert.That(Llama.Encode("x</s>y", parseSpecialTokens: false), Is.EqualTo(new[] { 1318, 700, 28713, 28767, 28724 }));
    }

    [Test]
    public void Non_special_added_tokens_match_even_when_special_ones_do_not()
    {
        // <tool_call> (151657) and <think> (151667) are added but not special; </s> means nothing to Qwen.
        Assert.That(Qwen.Encode("<tool_call> </s> <think>", parseSpecialTokens: false), Is.EqualTo(new[] { 151657, 690, 82, 29, 220, 151667 }));
        Assert.That(Qwen.IsSpecial(151657), Is.False);
        Assert.That(Qwen.IsSpecial(151645), Is.True);
        Assert.That(Qwen.IsSpecial(64), Is.False);
    }

    [Test]
    public void Token_lookups_cover_vocabulary_and_added_tokens()
    {
        Assert.That(Qwen.TokenToId("<|im_end|>"), Is.EqualTo(151645));
        Assert.That(Qwen.TokenToId("a"), Is.EqualTo(64));
        Assert.That(Qwen.TokenToId("Ġthe"), Is.EqualTo(279));
        Assert.That(Qwen.TokenToId("no such token"), Is.Null);
        Assert.That(Qwen.IdToToken(151645), Is.EqualTo("<|im_end|>"));
        Assert.That(Qwen.IdToToken(279), Is.EqualTo("Ġthe"));
        Assert.That(Qwen.IdToToken(-1), Is.Null);
        Assert.That(Qwen.IdToToken(151669), Is.Null);
        Assert.That(Llama.IdToToken(28705), Is.EqualTo("▁"));
        Assert.That(Llama.TokenToId("<0x0A>"), Is.EqualTo(13));
    }

    private static IEnumerable<TestCaseData> FixtureTexts() =>
        new[] { "tiny-qwen3", "tiny-llama" }.SelectMany(fixture =>
            HuggingFaceFixtures.References(fixture).Select((_, i) => new TestCaseData(fixture, i).SetName($"{fixture} round trip #{i}")));

    [TestCaseSource(nameof(FixtureTexts))]
    public void Decoding_gives_the_text_back(string fixture, int index)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        string text = HuggingFaceFixtures.References(fixture)[index].Text;
        // Qwen's NFC leaves these texts unchanged; Llama's decoder strips the ▁ its normalizer prepended.
        Assert.That(tokenizer.Decode(tokenizer.WithSpecialTokens(text)), Is.EqualTo(text));
    }

    [Test]
    public void Decoding_keeps_or_skips_special_tokens()
    {
        int[] ids = [151644, 872, 198, 6023, 151645, 151643];
        Assert.That(Qwen.Decode(ids), Is.EqualTo("user\nhi"));
        Assert.That(Qwen.Decode(ids, skipSpecialTokens: false), Is.EqualTo("<|im_start|>user\nhi<|im_end|><|endoftext|>"));
        Assert.That(Llama.Decode([1, 22557, 1526, 28808, 2], skipSpecialTokens: false), Is.EqualTo("<s> Hello world!</s>"));
        Assert.That(Llama.Decode([1, 22557, 1526, 28808, 2]), Is.EqualTo("Hello world!"));
        // Byte fallback: the four byte tokens of 🦙 decode together; a lone continuation byte is U+FFFD.
        Assert.That(Llama.Decode([243, 162, 169, 156]), Is.EqualTo("🦙"));
        Assert.That(Llama.Decode([162]), Is.EqualTo("\uFFFD"));
        Assert.That(Qwen.Decode([999_999, -5, 64]), Is.EqualTo("a"), "unknown ids are dropped, as the library does");
    }

    [Test]
    public void Concurrent_encoding_gives_the_same_ids()
    {
        var texts = new[] { "tiny-qwen3", "tiny-llama" }
            .SelectMany(f => HuggingFaceFixtures.References(f).Select(r => r.Text))
            .Concat(["a<|im_end|>b", "x</s>y", new string(' ', 3000), "鎭 🦙 naïve café"])
            .ToArray();
        var tokenizers = new[] { Qwen, Llama, HuggingFaceFixtures.Tokenizer("tiny-mistral") };
        var expected = tokenizers.Select(t => texts.Select(text => t.Encode(text)).ToArray()).ToArray();

        var failures = new ConcurrentBag<string>();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 16 }, worker =>
        {
            var random = new Random(worker);
            for (int round = 0; round < 50; round++)
            {
                int t = random.Next(tokenizers.Length), i = random.Next(texts.Length);
                // A fresh string instance each time, so the BPE cache is exercised concurrently too.
                string text = new(texts[i].AsSpan());
                if (!tokenizers[t].Encode(text).SequenceEqual(expected[t][i]))
                    failures.Add($"tokenizer {t}, text {i}");
            }
        });
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void Null_arguments_are_rejected()
    {
        Assert.That(() => Qwen.Encode(null!), Throws.ArgumentNullException);
        Assert.That(() => Qwen.Decode(null!), Throws.ArgumentNullException);
        Assert.That(() => Qwen.TokenToId(null!), Throws.ArgumentNullException);
        Assert.That(() => HuggingFaceTokenizer.Load(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Empty_text_has_no_tokens()
    {
        Assert.That(Qwen.Encode(""), Is.Empty);
        Assert.That(Llama.Encode(""), Is.Empty);
        Assert.That(Llama.WithSpecialTokens(""), Is.EqualTo(new[] { 1 }));
    }
}
