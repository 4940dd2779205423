using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class PromptFormatTests
{
    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    private static int[] Build(PromptFormat format, string text, TextRole role = TextRole.Query) =>
        format.BuildIds(Tok, text, role, 32768, TruncationPolicy.Throw);

    [Test]
    public void Names()
    {
        Assert.That(PromptFormat.Raw.Name, Is.EqualTo("raw"));
        Assert.That(PromptFormat.MistralInstruct.Name, Is.EqualTo("mistral-instruct"));
        Assert.That(PromptFormat.E5Instruct().Name, Is.EqualTo("e5-instruct"));
        Assert.That(PromptFormat.E5Instruct("Retrieve code").Name, Is.EqualTo("e5-instruct"));
        Assert.That(PromptFormat.Custom("{text}").Name, Is.EqualTo("custom"));
        Assert.That(PromptFormat.Raw.ToString(), Is.EqualTo("raw"));
    }

    [Test]
    public void Chat_example_from_the_fixture_readme() =>
        Assert.That(
            Build(PromptFormat.MistralInstruct, "some questions."),
            Is.EqualTo(new[] { 1, 733, 16289, 28793, 741, 4224, 28723, 733, 28748, 16289, 28793 }));

    [Test]
    public void Custom_template_is_rendered_and_encoded_in_one_pass()
    {
        const string text = "What is GPU?";
        int[] encoded = Tok.EncodeText("query: What is GPU?").ToArray();

        Assert.That(Build(PromptFormat.Custom("query: {text}"), text), Is.EqualTo(new[] { 1 }.Concat(encoded)));
        Assert.That(Build(PromptFormat.Custom("query: {text}", addBos: true, addEos: true), text), Is.EqualTo(new[] { 1 }.Concat(encoded).Append(2)));
        Assert.That(Build(PromptFormat.Custom("query: {text}", addBos: false, addEos: true), text), Is.EqualTo(encoded.Append(2)));
        Assert.That(Build(PromptFormat.Custom("query: {text}", addBos: false), text), Is.EqualTo(encoded));
    }

    [Test]
    public void Custom_chat_template_equals_MistralInstruct()
    {
        foreach (var t in TokenizerFixture.ReferenceTexts())
        {
            Assert.That(Build(PromptFormat.Custom("[INST] {text} [/INST]"), t.Text), Is.EqualTo(t.Chat), t.Text);
        }
    }

    [Test]
    public void Custom_template_must_contain_the_placeholder_once()
    {
        Assert.That(
            () => PromptFormat.Custom("query: text"),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("template"));
        Assert.That(
            () => PromptFormat.Custom("{text} and {text}"),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("template"));
        Assert.That(() => PromptFormat.Custom(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void E5_custom_instruction_is_used_for_queries_only()
    {
        const string text = "how to sort a list";
        var format = PromptFormat.E5Instruct("Retrieve code snippets");
        int[] query = Tok.EncodeText("Instruct: Retrieve code snippets\nQuery: how to sort a list").ToArray();

        Assert.That(Build(format, text), Is.EqualTo(new[] { 1 }.Concat(query).Append(2)));
        Assert.That(Build(format, text, TextRole.Document), Is.EqualTo(new[] { 1 }.Concat(Tok.EncodeText(text)).Append(2)));
    }

    [Test]
    public void E5_instruction_must_not_be_blank() =>
        Assert.That(() => PromptFormat.E5Instruct("  "), Throws.ArgumentException);

    [Test]
    public void Fixed_token_counts()
    {
        Assert.That(PromptFormat.Raw.GetFixedTokenCount(Tok, TextRole.Query), Is.EqualTo(1));
        Assert.That(PromptFormat.MistralInstruct.GetFixedTokenCount(Tok, TextRole.Query), Is.EqualTo(8));
        Assert.That(PromptFormat.E5Instruct().GetFixedTokenCount(Tok, TextRole.Document), Is.EqualTo(2));
        int instructionTokens = Tok.EncodeText($"Instruct: {PromptFormat.DefaultInstruction}\nQuery:").Count;
        Assert.That(PromptFormat.E5Instruct().GetFixedTokenCount(Tok, TextRole.Query), Is.EqualTo(instructionTokens + 2));
    }

    [Test]
    public void Undefined_enum_values_are_rejected()
    {
        Assert.That(
            () => PromptFormat.Raw.BuildIds(Tok, "a", (TextRole)7, 10, TruncationPolicy.Throw),
            Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(
            () => PromptFormat.Raw.BuildIds(Tok, "a", TextRole.Query, 10, (TruncationPolicy)7),
            Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(
            () => PromptFormat.Raw.BuildIds(null!, "a", TextRole.Query, 10, TruncationPolicy.Throw),
            Throws.ArgumentNullException);
    }
}

/// <summary>Mistral v0.3 and later vocabularies make <c>[INST]</c> a control token: the v0.1 text template is refused there.</summary>
public class MistralControlTokenTests
{
    [Test]
    public void Mistral_instruct_is_refused_where_INST_is_a_control_token()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lte-v03-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var source = TestPaths.Fixture("tiny-mistral");
            File.Copy(Path.Combine(source, "tokenizer_config.json"), Path.Combine(directory, "tokenizer_config.json"));
            // As in v0.3: ids 3 and 4 become the control tokens [INST] and [/INST].
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "tokenizer.json")))!;
            var vocab = json["model"]!["vocab"]!.AsObject();
            vocab.Remove("<0x00>");
            vocab.Remove("<0x01>");
            vocab["[INST]"] = 3;
            vocab["[/INST]"] = 4;
            foreach (var (id, content) in new[] { (3, "[INST]"), (4, "[/INST]") })
            {
                json["added_tokens"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
                });
            }
            File.WriteAllText(Path.Combine(directory, "tokenizer.json"), json.ToJsonString());

            var v03 = ModelTokenizer.Load(directory);
            Assert.That(v03.TokenToId("[INST]"), Is.EqualTo(3));
            var error = Assert.Throws<InvalidOperationException>(() => PromptFormat.MistralInstruct.BuildIds(v03, "hi", TextRole.Query, 64, TruncationPolicy.Truncate))!;
            Assert.That(error.Message, Does.Contain("control token 3").And.Contain("v0.3"));
            Assert.That(PromptFormat.Raw.BuildIds(v03, "hi", TextRole.Query, 64, TruncationPolicy.Truncate), Is.Not.Empty, "other formats still work");

            var v01 = ModelTokenizer.Load(source);
            Assert.That(PromptFormat.MistralInstruct.BuildIds(v01, "hi", TextRole.Query, 64, TruncationPolicy.Truncate)[..2], Is.EqualTo(new[] { 1, 733 }), "<s> then '▁['");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
