using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class ReferenceIdsTests
{
    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    private static IEnumerable<TestCaseData> Cases()
    {
        // Source is evaluated before any test runs, so the fixture is read here.
        foreach (var t in TokenizerFixture.ReferenceTexts())
        {
            yield return new TestCaseData("raw", t.Index).SetName($"Reference ids raw #{t.Index}");
            yield return new TestCaseData("chat", t.Index).SetName($"Reference ids chat #{t.Index}");
            yield return new TestCaseData("e5", t.Index).SetName($"Reference ids e5 #{t.Index}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void BuildIds_reproduces_reference_json(string mode, int index)
    {
        var t = TokenizerFixture.ReferenceTexts().Single(r => r.Index == index);
        (PromptFormat format, int[] expected) = mode switch
        {
            "raw" => (PromptFormat.Raw, t.Raw),
            "chat" => (PromptFormat.MistralInstruct, t.Chat),
            _ => (PromptFormat.E5Instruct(), t.E5),
        };

        int[] ids = format.BuildIds(Tok, t.Text, TextRole.Query, 32768, TruncationPolicy.Throw);

        Assert.That(ids, Is.EqualTo(expected));
    }

    [Test]
    public void There_are_eleven_reference_texts() =>
        Assert.That(TokenizerFixture.ReferenceTexts(), Has.Count.EqualTo(11));

    [Test]
    public void Reference_e5_task_is_the_default_instruction() =>
        Assert.That(TokenizerFixture.E5Task, Is.EqualTo(PromptFormat.DefaultInstruction));

    [Test]
    public void E5_explicit_instruction_equal_to_default_gives_same_ids()
    {
        foreach (var t in TokenizerFixture.ReferenceTexts())
        {
            int[] ids = PromptFormat.E5Instruct(TokenizerFixture.E5Task).BuildIds(Tok, t.Text, TextRole.Query, 32768, TruncationPolicy.Throw);
            Assert.That(ids, Is.EqualTo(t.E5), t.Text);
        }
    }

    [Test]
    public void E5_documents_are_bos_text_eos()
    {
        foreach (var t in TokenizerFixture.ReferenceTexts())
        {
            int[] ids = PromptFormat.E5Instruct().BuildIds(Tok, t.Text, TextRole.Document, 32768, TruncationPolicy.Throw);
            Assert.That(ids, Is.EqualTo(t.Raw.Append(Tok.EosId!.Value).ToArray()), t.Text);
        }
    }

    [Test]
    public void Raw_chat_and_custom_ignore_the_role()
    {
        var formats = new[] { PromptFormat.Raw, PromptFormat.MistralInstruct, PromptFormat.Custom("query: {text}", addEos: true) };
        foreach (var format in formats)
        {
            foreach (var t in TokenizerFixture.ReferenceTexts())
            {
                Assert.That(
                    format.BuildIds(Tok, t.Text, TextRole.Document, 32768, TruncationPolicy.Throw),
                    Is.EqualTo(format.BuildIds(Tok, t.Text, TextRole.Query, 32768, TruncationPolicy.Throw)),
                    $"{format.Name}: {t.Text}");
            }
        }
    }
}
