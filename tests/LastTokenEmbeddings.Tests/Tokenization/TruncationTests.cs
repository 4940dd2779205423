using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class TruncationTests
{
    private static readonly int[] InstOpen = [733, 16289, 28793];
    private static readonly int[] InstClose = [733, 28748, 16289, 28793];

    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    /// <summary>The long llama paragraph of reference.json (hundreds of tokens).</summary>
    private static TokenizerFixture.ReferenceText Long => TokenizerFixture.ReferenceTexts()[^1];

    [Test]
    public void Raw_keeps_the_first_ids()
    {
        int[] ids = PromptFormat.Raw.BuildIds(Tok, Long.Text, TextRole.Query, 10, TruncationPolicy.Truncate);

        Assert.That(ids, Is.EqualTo(Long.Raw[..10]));
    }

    [TestCase(TextRole.Query)]
    [TestCase(TextRole.Document)]
    public void E5_keeps_the_first_ids_and_re_appends_eos(TextRole role)
    {
        int[] full = PromptFormat.E5Instruct().BuildIds(Tok, Long.Text, role, 32768, TruncationPolicy.Throw);

        int[] ids = PromptFormat.E5Instruct().BuildIds(Tok, Long.Text, role, 40, TruncationPolicy.Truncate);

        Assert.That(ids, Has.Length.EqualTo(40));
        Assert.That(ids[..39], Is.EqualTo(full[..39]));
        Assert.That(ids[^1], Is.EqualTo(Tok.EosId!.Value));
        Assert.That(ids[0], Is.EqualTo(Tok.BosId!.Value));
    }

    [Test]
    public void E5_query_truncation_matches_reference_prefix()
    {
        int[] ids = PromptFormat.E5Instruct().BuildIds(Tok, Long.Text, TextRole.Query, 64, TruncationPolicy.Truncate);

        Assert.That(ids, Is.EqualTo(Long.E5[..63].Append(2).ToArray()));
    }

    [Test]
    public void MistralInstruct_shortens_the_text_and_keeps_the_closing_tag()
    {
        int[] ids = PromptFormat.MistralInstruct.BuildIds(Tok, Long.Text, TextRole.Query, 20, TruncationPolicy.Truncate);

        Assert.That(ids, Has.Length.EqualTo(20));
        Assert.That(ids[..4], Is.EqualTo(new[] { 1 }.Concat(InstOpen)));
        Assert.That(ids[^4..], Is.EqualTo(InstClose));
        // The text part is the start of the untruncated chat encoding.
        Assert.That(ids[..16], Is.EqualTo(Long.Chat[..16]));
        Assert.That(Long.Chat[^4..], Is.EqualTo(InstClose));
    }

    [Test]
    public void MistralInstruct_smallest_limit_keeps_one_text_token()
    {
        Assert.That(
            () => PromptFormat.MistralInstruct.BuildIds(Tok, Long.Text, TextRole.Query, 8, TruncationPolicy.Truncate),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo("maxTokens"));

        int[] ids = PromptFormat.MistralInstruct.BuildIds(Tok, Long.Text, TextRole.Query, 9, TruncationPolicy.Truncate);

        Assert.That(ids, Is.EqualTo(new[] { 1 }.Concat(InstOpen).Append(Long.Chat[4]).Concat(InstClose)));
    }

    [Test]
    public void Custom_keeps_template_suffix_and_eos()
    {
        var format = PromptFormat.Custom("Represent this passage: {text}\nEmbedding:", addBos: true, addEos: true);
        int[] suffix = Tok.EncodeText("a\nEmbedding:").Skip(Tok.EncodeText("a").Count).ToArray();

        int[] ids = format.BuildIds(Tok, Long.Text, TextRole.Document, 30, TruncationPolicy.Truncate);

        Assert.That(ids, Has.Length.EqualTo(30));
        Assert.That(ids[0], Is.EqualTo(1));
        Assert.That(ids[^1], Is.EqualTo(2));
        Assert.That(ids[^(suffix.Length + 1)..^1], Is.EqualTo(suffix));
        int[] head = Tok.EncodeText("Represent this passage: " + Long.Text).ToArray();
        Assert.That(ids[1..^(suffix.Length + 1)], Is.EqualTo(head[..(29 - suffix.Length - 1)]));
    }

    [Test]
    public void Throw_reports_count_and_limit()
    {
        var ex = Assert.Throws<InputTooLongException>(
            () => PromptFormat.MistralInstruct.BuildIds(Tok, Long.Text, TextRole.Query, 100, TruncationPolicy.Throw));

        Assert.That(ex, Is.InstanceOf<ArgumentException>());
        Assert.That(ex!.TokenCount, Is.EqualTo(Long.Chat.Length));
        Assert.That(ex.MaxTokens, Is.EqualTo(100));
        Assert.That(ex.Message, Does.Contain(Long.Chat.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Contain("100"));
        Assert.That(ex.ParamName, Is.EqualTo("text"));
    }

    [Test]
    public void Prompt_of_exactly_the_limit_is_not_truncated()
    {
        foreach (var policy in new[] { TruncationPolicy.Throw, TruncationPolicy.Truncate })
        {
            Assert.That(PromptFormat.E5Instruct().BuildIds(Tok, Long.Text, TextRole.Query, Long.E5.Length, policy), Is.EqualTo(Long.E5));
            Assert.That(PromptFormat.MistralInstruct.BuildIds(Tok, Long.Text, TextRole.Query, Long.Chat.Length, policy), Is.EqualTo(Long.Chat));
        }

        Assert.That(
            () => PromptFormat.Raw.BuildIds(Tok, Long.Text, TextRole.Query, Long.Raw.Length - 1, TruncationPolicy.Throw),
            Throws.TypeOf<InputTooLongException>());
    }

    [Test]
    public void Truncated_length_is_exact_for_every_limit()
    {
        var formats = new[] { PromptFormat.Raw, PromptFormat.MistralInstruct, PromptFormat.E5Instruct(), PromptFormat.Custom("q: {text} :end", addEos: true) };
        foreach (var format in formats)
        {
            int min = format.GetFixedTokenCount(Tok, TextRole.Query) + 1;
            for (int max = min; max < min + 60; max++)
            {
                int[] ids = format.BuildIds(Tok, Long.Text, TextRole.Query, max, TruncationPolicy.Truncate);
                Assert.That(ids, Has.Length.EqualTo(max), $"{format.Name} max={max}");
                Assert.That(ids, Is.All.InRange(0, Tok.VocabularySize - 1));
            }
        }
    }

    [Test]
    public void MaxTokens_below_fixed_overhead_plus_one_is_rejected()
    {
        Assert.That(() => PromptFormat.Raw.BuildIds(Tok, "a", TextRole.Query, 1, TruncationPolicy.Truncate), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => PromptFormat.Raw.BuildIds(Tok, "a", TextRole.Query, 0, TruncationPolicy.Truncate), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => PromptFormat.E5Instruct().BuildIds(Tok, "a", TextRole.Document, 2, TruncationPolicy.Truncate), Throws.TypeOf<ArgumentOutOfRangeException>());
        int e5Fixed = PromptFormat.E5Instruct().GetFixedTokenCount(Tok, TextRole.Query);
        Assert.That(() => PromptFormat.E5Instruct().BuildIds(Tok, "a", TextRole.Query, e5Fixed, TruncationPolicy.Throw), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(PromptFormat.Raw.BuildIds(Tok, "a", TextRole.Query, 2, TruncationPolicy.Throw), Is.EqualTo(new[] { 1, 264 }));
    }
}
