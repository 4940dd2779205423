using System.Diagnostics;
using System.Text;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>Texts built to be slow or odd must still encode quickly and exactly.</summary>
public class HostileInputTests
{
    private static readonly string[] Fixtures = ["tiny-qwen3", "tiny-llama"];

    private static void FinishesQuickly(Action action, double seconds, string what)
    {
        var watch = Stopwatch.StartNew();
        action();
        Assert.That(watch.Elapsed.TotalSeconds, Is.LessThan(seconds), what);
    }

    [TestCaseSource(nameof(Fixtures))]
    public void A_megabyte_of_spaces_encodes_in_linear_time(string fixture)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        string text = new string(' ', 1_000_000) + "a";
        int[] ids = [];
        FinishesQuickly(() => ids = tokenizer.Encode(text), 10, "1 MB of spaces");
        // Byte-level BPE is lossless; the Llama decoder strips exactly the ▁ its normalizer prepended.
        Assert.That(tokenizer.Decode(ids), Is.EqualTo(text));
    }

    [TestCaseSource(nameof(Fixtures))]
    public void A_megabyte_without_any_space_encodes_quickly(string fixture)
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
        string text = string.Concat(Enumerable.Repeat("abcdefghij", 100_000));
        int[] ids = [];
        FinishesQuickly(() => ids = tokenizer.Encode(text), 15, "1 MB in a single piece");
        Assert.That(tokenizer.Decode(ids), Is.EqualTo(text));
    }

    [Test]
    public void A_hundred_thousand_alternating_combining_marks_normalize_quickly()
    {
        // ICU alone reorders such a run by insertion: seconds for 100k marks, minutes for a megabyte.
        var tokenizer = HuggingFaceFixtures.Tokenizer("tiny-qwen3");
        var marks = new StringBuilder("a");
        for (int i = 0; i < 100_000; i++) marks.Append(i % 2 == 0 ? '\u0301' : '\u0327');
        string text = marks.ToString();
        int[] ids = [];
        FinishesQuickly(() => ids = tokenizer.Encode(text), 5, "100k combining marks");
        // NFC sorts the cedillas (class 202) before the acute accents (230); 'a' has no cedilla form but composes
        // with the first acute, which no cedilla blocks (lower class).
        Assert.That(tokenizer.Decode(ids), Is.EqualTo("\u00E1" + new string('\u0327', 50_000) + new string('\u0301', 49_999)));
    }

    [Test]
    public void Reordering_long_runs_gives_what_icu_gives()
    {
        var rng = new Random(12345);
        char[] marks = ['\u0301', '\u0327', '\u0323', '\u0308', '\u0334', '\u05B0', '\u0F71', '\u0F73', '\u0344', '\u0345', '\u1DCE', '\u20D0'];
        var text = new StringBuilder();
        for (int i = 0; i < 3000; i++)
            text.Append(rng.Next(10) == 0 ? "aeoAu\u00E9\u1E00\uAC00\u1100\u1161"[rng.Next(10)] : marks[rng.Next(marks.Length)]);
        string input = text.ToString();
        foreach (var form in new[] { NormalizationForm.FormC, NormalizationForm.FormD, NormalizationForm.FormKC, NormalizationForm.FormKD })
            Assert.That(UnicodeNormalization.Normalize(input, form), Is.EqualTo(input.Normalize(form)), form.ToString());
    }

    [Test]
    public void A_hundred_thousand_special_tokens_encode_quickly()
    {
        var tokenizer = HuggingFaceFixtures.Tokenizer("tiny-qwen3");
        string text = string.Concat(Enumerable.Repeat("<|im_end|>", 100_000));
        int[] ids = [];
        FinishesQuickly(() => ids = tokenizer.Encode(text), 5, "100k special tokens");
        Assert.That(ids, Has.Length.EqualTo(100_000).And.All.EqualTo(151645));
    }

    [Test]
    public void Lone_surrogates_become_replacement_characters()
    {
        foreach (var fixture in Fixtures)
        {
            var tokenizer = HuggingFaceFixtures.Tokenizer(fixture);
            Assert.That(tokenizer.Encode("a\uD800b\uDC00"), Is.EqualTo(tokenizer.Encode("a\uFFFDb\uFFFD")), fixture);
            Assert.That(tokenizer.Encode("\uDE00\uD83D"), Is.EqualTo(tokenizer.Encode("\uFFFD\uFFFD")), fixture);
        }
    }

    [Test]
    public void A_catastrophic_pattern_from_the_file_times_out_with_an_exception_naming_the_file()
    {
        // A lookahead keeps it off the linear-time engine; nested quantifiers make backtracking exponential.
        string json = TokenizerJsonSamples.ByteLevel(preTokenizer: """
            {"type": "Split", "pattern": {"Regex": "(?:(?:a|aa)+)+(?!a)b"}, "behavior": "Isolated", "invert": false}
            """);
        using var file = new TempFile(json);
        var tokenizer = HuggingFaceTokenizer.Load(file.Path, matchTimeout: TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<CheckpointException>(() => tokenizer.Encode(new string('a', 60)));
        Assert.That(watch.Elapsed.TotalSeconds, Is.LessThan(5));
        Assert.That(error!.FilePath, Is.EqualTo(file.Path));
        Assert.That(error.Message, Does.Contain("pre_tokenizer.pattern.Regex").And.Contain("too slow"));
    }

    [Test]
    public void Patterns_without_lookarounds_run_on_the_linear_time_engine()
    {
        string json = TokenizerJsonSamples.ByteLevel(preTokenizer: """
            {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}
            """);
        using var file = new TempFile(json);
        var tokenizer = HuggingFaceTokenizer.Load(file.Path);
        string text = new string('a', 50_000) + "b";
        int[] ids = [];
        FinishesQuickly(() => ids = tokenizer.Encode(text), 5, "(a+)+$ on 50k a's");
        Assert.That(tokenizer.Decode(ids), Is.EqualTo(text));
    }
}
