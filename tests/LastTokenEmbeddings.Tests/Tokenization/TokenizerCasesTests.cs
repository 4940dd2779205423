using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class TokenizerCasesTests
{
    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    private static IEnumerable<TestCaseData> Cases() =>
        TokenizerFixture.TokenizerCases().Select((c, i) => new TestCaseData(i).SetName($"Tokenizer case #{i}"));

    [TestCaseSource(nameof(Cases))]
    public void Encodes_like_sentencepiece(int index)
    {
        var (text, expected) = TokenizerFixture.TokenizerCases()[index];

        Assert.That(new[] { Tok.BosId!.Value }.Concat(Tok.EncodeText(text)), Is.EqualTo(expected));
        Assert.That(PromptFormat.Raw.BuildIds(Tok, text, TextRole.Document, 4096, TruncationPolicy.Throw), Is.EqualTo(expected));
        Assert.That(Tok.CountTokens(text), Is.EqualTo(expected.Length - 1));
    }

    [Test]
    public void There_are_twelve_cases() => Assert.That(TokenizerFixture.TokenizerCases(), Has.Count.EqualTo(12));
}
