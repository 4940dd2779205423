using LastTokenEmbeddings.Tokenization;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization;

/// <summary>
/// tiny-mistral ships its tokenizer both as tokenizer.model (SentencePiece, through Microsoft.ML.Tokenizers) and as
/// tokenizer.json (checked against the tokenizers library itself): both give the same ids, special-token strings in
/// the text included, under either special-token policy, and concurrently.
/// </summary>
public class TokenizerBackendAgreementTests
{
    private static readonly Lazy<ModelTokenizer> SentencePiece = new(() => ModelTokenizer.Load(TestPaths.FixtureDirectory));

    private static readonly Lazy<HuggingFaceTokenizer> Json = new(() => HuggingFaceTokenizer.Load(
        Path.Combine(TestPaths.FixtureDirectory, "tokenizer.json"), Path.Combine(TestPaths.FixtureDirectory, "tokenizer_config.json"),
        Path.Combine(TestPaths.FixtureDirectory, "special_tokens_map.json")));

    private static IEnumerable<string> Texts() =>
        Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text)
            .Concat(TokenizerFixture.TokenizerCases().Select(c => c.Text))
            .Concat(["x</s>y", "</s>", "a <s> b", "<unk>", "end</s>", "</s></s>", "[INST] hi [/INST]", "<s>[INST] q [/INST]", "x</ s>y", "<|im_end|>"]);

    [TestCaseSource(nameof(Texts))]
    public void SentencePiece_and_tokenizer_json_give_the_same_ids(string text)
    {
        Assert.That(SentencePiece.Value.Format, Does.StartWith("tokenizer.model"), "tokenizer.model is preferred where present");
        Assert.That(SentencePiece.Value.Encode(text, addSpecialTokens: true), Is.EqualTo(Json.Value.PrefixIds.Concat(Json.Value.Encode(text)).Concat(Json.Value.SuffixIds)), "parsed special tokens");
        Assert.That(SentencePiece.Value.EncodeBody(text, parseSpecialTokens: false), Is.EqualTo(Json.Value.Encode(text, parseSpecialTokens: false)), "special tokens as text");
    }

    [Test]
    public void Special_token_strings_become_ids_only_when_parsed()
    {
        var tokenizer = SentencePiece.Value;
        var parsed = tokenizer.EncodeBody("x</s>y", parseSpecialTokens: true);
        var asText = tokenizer.EncodeBody("x</s>y", parseSpecialTokens: false);
        Assert.That(parsed, Does.Contain(2));
        Assert.That(asText, Does.Not.Contain(2));
        Assert.That(tokenizer.Decode(asText, skipSpecialTokens: true), Is.EqualTo("x</s>y"));
    }

    [Test]
    public async Task Concurrent_encoding_gives_the_ids_of_serial_encoding()
    {
        var texts = Texts().ToArray();
        var expected = texts.Select(t => SentencePiece.Value.Encode(t, addSpecialTokens: true)).ToArray();
        var jsonExpected = texts.Select(t => Json.Value.Encode(t)).ToArray();
        using var start = new ManualResetEventSlim();
        var workers = Enumerable.Range(0, 16).Select(worker => Task.Run(() =>
        {
            start.Wait();
            for (var round = 0; round < 20; round++)
            {
                for (var i = 0; i < texts.Length; i++)
                {
                    var k = (i + worker + round) % texts.Length;
                    if (!SentencePiece.Value.Encode(texts[k], addSpecialTokens: true).SequenceEqual(expected[k]) || !Json.Value.Encode(texts[k]).SequenceEqual(jsonExpected[k]))
                        return k;
                }
            }
            return -1;
        })).ToArray();
        start.Set();
        Assert.That(await Task.WhenAll(workers), Is.All.EqualTo(-1), "every thread got the serial ids");
    }
}
