using System.Diagnostics;
using System.Text;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class InputTextTests
{
    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    private static readonly PromptFormat[] Formats =
        [PromptFormat.Raw, PromptFormat.MistralInstruct, PromptFormat.E5Instruct(), PromptFormat.Custom("passage: {text}", addEos: true)];

    [Test]
    public void Null_text_is_rejected()
    {
        Assert.That(() => Tok.EncodeText(null!), Throws.ArgumentNullException);
        Assert.That(() => Tok.CountTokens(null!), Throws.ArgumentNullException);
        foreach (var format in Formats)
        {
            Assert.That(
                () => format.BuildIds(Tok, null!, TextRole.Query, 512, TruncationPolicy.Truncate),
                Throws.ArgumentNullException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("text"));
        }
    }

    [Test]
    public void Empty_text_yields_the_format_tokens_only()
    {
        Assert.That(Tok.EncodeText(""), Is.Empty);
        Assert.That(Tok.CountTokens(""), Is.Zero);
        Assert.That(Build(PromptFormat.Raw, ""), Is.EqualTo(new[] { 1 }));
        Assert.That(Build(PromptFormat.E5Instruct(), "", TextRole.Document), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(Build(PromptFormat.MistralInstruct, ""), Is.EqualTo(new[] { 1 }.Concat(Tok.EncodeText("[INST]  [/INST]"))));
        Assert.That(
            Build(PromptFormat.E5Instruct(), ""),
            Is.EqualTo(new[] { 1 }.Concat(Tok.EncodeText($"Instruct: {PromptFormat.DefaultInstruction}\nQuery: ")).Append(2)));
    }

    [TestCase(" ")]
    [TestCase("   ")]
    [TestCase("\t\n")]
    public void Whitespace_only_text_is_allowed(string text)
    {
        foreach (var format in Formats)
        {
            int[] ids = Build(format, text);
            Assert.That(ids, Is.Not.Empty.And.All.InRange(0, Tok.VocabularySize - 1));
        }

        Assert.That(Build(PromptFormat.Raw, text), Is.EqualTo(new[] { 1 }.Concat(Tok.EncodeText(text))));
    }

    // Built in code: lone surrogates do not survive attribute (metadata) serialization.
    private static IEnumerable<TestCaseData> LoneSurrogateCases()
    {
        yield return new TestCaseData("a\uD800b", "a\uFFFDb").SetName("Lone high surrogate inside");
        yield return new TestCaseData("\uDC00start", "\uFFFDstart").SetName("Lone low surrogate at start");
        yield return new TestCaseData("end\uD83E", "end\uFFFD").SetName("Lone high surrogate at end");
        yield return new TestCaseData("\uDC00\uD800", "\uFFFD\uFFFD").SetName("Reversed surrogate pair");
        yield return new TestCaseData("pair \uD83E\uDD99 then lone \uD83E x", "pair \uD83E\uDD99 then lone \uFFFD x").SetName("Valid pair kept, lone one replaced");
    }

    [TestCaseSource(nameof(LoneSurrogateCases))]
    public void Lone_surrogates_are_replaced_with_U_FFFD(string text, string replaced)
    {
        Assert.That(Tok.EncodeText(text), Is.EqualTo(Tok.EncodeText(replaced)));
        Assert.That(Tok.CountTokens(text), Is.EqualTo(Tok.EncodeText(replaced).Count));
        foreach (var format in Formats)
        {
            int[] ids = Build(format, text);
            Assert.That(ids, Is.EqualTo(Build(format, replaced)));
            Assert.That(ids, Is.All.InRange(0, Tok.VocabularySize - 1));
        }
    }

    [Test]
    public void Control_characters_are_encoded_as_is()
    {
        Assert.That(Tok.EncodeText("x\u0001y"), Is.EqualTo(new[] { 1318, 29534, 28724 }));
        string text = "bell\u0007 nul\0 esc\u001b del\u007f";
        Assert.That(Tok.Decode(Tok.EncodeText(text)), Is.EqualTo(text));
        foreach (var format in Formats)
        {
            Assert.That(Build(format, text), Is.All.InRange(0, Tok.VocabularySize - 1));
        }
    }

    [Test]
    public void One_megabyte_text_is_encoded_then_truncated_or_rejected()
    {
        var sb = new StringBuilder(1 << 20);
        var random = new Random(7);
        string[] words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "镇", "🦙", "naïve", "42", "\n"];
        while (sb.Length < 1 << 20)
        {
            sb.Append(words[random.Next(words.Length)]).Append(' ');
        }

        string text = sb.ToString();
        var watch = Stopwatch.StartNew();

        int count = Tok.CountTokens(text);
        int[] truncated = PromptFormat.E5Instruct().BuildIds(Tok, text, TextRole.Query, 4096, TruncationPolicy.Truncate);
        var ex = Assert.Throws<InputTooLongException>(
            () => PromptFormat.MistralInstruct.BuildIds(Tok, text, TextRole.Query, 4096, TruncationPolicy.Throw));

        watch.Stop();
        Assert.That(count, Is.GreaterThan(100_000));
        Assert.That(truncated, Has.Length.EqualTo(4096));
        Assert.That(truncated[^1], Is.EqualTo(Tok.EosId!.Value));
        Assert.That(ex!.TokenCount, Is.InRange(count + 6, count + 10));
        TestContext.Out.WriteLine($"1 MB: {count} tokens, three passes in {watch.Elapsed.TotalSeconds:F1} s");
    }

    private static int[] Build(PromptFormat format, string text, TextRole role = TextRole.Query) =>
        format.BuildIds(Tok, text, role, 32768, TruncationPolicy.Throw);
}
