namespace LastTokenEmbeddings.Tests.Cli;

/// <summary><c>lte tokenize</c> reproduces the Hugging Face ids in reference.json.</summary>
public class TokenizeCommandTests
{
    [TestCaseSource(typeof(ReferenceData), nameof(ReferenceData.Modes))]
    public async Task Json_ids_match_the_reference_for_every_text(string mode)
    {
        var texts = Lte.ReferenceTexts();
        var run = await Lte.OnFixture("tokenize", [.. Lte.PromptArgs(mode), "--format", "json", "--", .. texts]);
        var data = run.Json().GetProperty("data");
        Assert.That(data.GetArrayLength(), Is.EqualTo(texts.Length));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(data[i].GetProperty("index").GetInt32(), Is.EqualTo(i));
            var ids = data[i].GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.That(ids, Is.EqualTo(ReferenceData.Ids(mode, i)), $"{mode} text {i}");
        }
    }

    [Test]
    public async Task Document_role_drops_the_e5_instruction()
    {
        var run = await Lte.OnFixture("tokenize", "--prompt", "e5-instruct", "--role", "document", "--format", "json", "Hello world!");
        var ids = run.Json().GetProperty("data")[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var raw = ReferenceData.Ids("raw", 5).Select(id => (int)id);
        Assert.That(ids, Is.EqualTo(raw.Append(2).ToArray()), "BOS + text + EOS");
    }

    [Test]
    public async Task Max_tokens_truncates_and_keeps_the_closing_tag()
    {
        var run = await Lte.OnFixture("tokenize", "--prompt", "mistral-instruct", "--max-tokens", "10", "--format", "json", ReferenceData.Text(10));
        var ids = run.Json().GetProperty("data")[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.That(ids, Has.Length.EqualTo(10));
        Assert.That(ids[^4..], Is.EqualTo(new[] { 733, 28748, 16289, 28793 }));
    }

    [Test]
    public async Task Special_tokens_option_parses_or_spells_out_special_token_strings()
    {
        static async Task<int[]> Ids(string policy)
        {
            var run = await Lte.OnFixture("tokenize", "--special-tokens", policy, "--format", "json", "Hi</s>there");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
            return run.Json().GetProperty("data")[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        }
        var parsed = await Ids("parse");
        var spelled = await Ids("text");
        Assert.That(parsed[0], Is.EqualTo(1), "BOS");
        Assert.That(parsed[1..], Does.Contain(2), "</s> is the EOS id 2");
        Assert.That(spelled[1..], Does.Not.Contain(2), "</s> as the characters '<', '/', 's', '>'");
        Assert.That(spelled.Length, Is.GreaterThan(parsed.Length));

        var refused = await Lte.OnFixture("tokenize", "--special-tokens", "maybe", "hi");
        Assert.That(refused.ExitCode, Is.EqualTo(2));
        Assert.That(refused.Stderr, Does.Contain("--special-tokens"));
    }

    [Test]
    public async Task Table_lists_each_text_with_its_ids()
    {
        var run = await Lte.OnFixture("tokenize", "What is GPU?");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.Contain("What is GPU?").And.Contain("1 1824 349 28475 28804"));
    }

    [Test]
    public async Task Instruction_without_e5_is_a_usage_error()
    {
        var run = await Lte.OnFixture("tokenize", "--instruction", "x", "hi");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.StartWith("lte: error: ").And.Contain("e5-instruct"));
    }
}
