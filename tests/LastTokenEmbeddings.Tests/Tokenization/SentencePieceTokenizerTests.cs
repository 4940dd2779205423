using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

public class SentencePieceTokenizerTests
{
    private static ModelTokenizer Tok => TokenizerFixture.Tokenizer;

    private string _tempDir = "";

    [SetUp]
    public void SetUp()
    {
        _tempDir = Path.Combine(Path.GetTempPath(), "lte-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_tempDir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_tempDir, recursive: true);

    [Test]
    public void Special_ids_and_vocabulary_size()
    {
        Assert.That(Tok.BosId!.Value, Is.EqualTo(1));
        Assert.That(Tok.EosId!.Value, Is.EqualTo(2));
        Assert.That(Tok.VocabularySize, Is.EqualTo(32000));
    }

    [TestCase("Hello world!")]
    [TestCase("Line one\nLine two\ttabbed")]
    [TestCase("镇 🦙 naïve café — ünïcödé")]
    [TestCase("x\u0001y\u0007")]
    public void Decode_round_trips(string text) =>
        Assert.That(Tok.Decode(Tok.EncodeText(text)), Is.EqualTo(text));

    [Test]
    public void Decode_skips_bos_and_eos() =>
        Assert.That(Tok.Decode(new[] { Tok.BosId!.Value }.Concat(Tok.EncodeText("Hello")).Append(Tok.EosId!.Value)), Is.EqualTo("Hello"));

    [Test]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        Assert.That(() => Tok.Decode([1, 32000]), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Tok.Decode([-1]), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Tok.Decode(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void CountTokens_matches_EncodeText()
    {
        foreach (var t in TokenizerFixture.ReferenceTexts())
        {
            Assert.That(Tok.CountTokens(t.Text), Is.EqualTo(Tok.EncodeText(t.Text).Count), t.Text);
        }
    }

    [Test]
    public void Concurrent_use_gives_the_same_ids()
    {
        var texts = TokenizerFixture.ReferenceTexts();
        var expected = texts.Select(t => t.Raw.Skip(1).ToArray()).ToArray();
        var failures = 0;
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int k = i % texts.Count;
            if (!Tok.EncodeText(texts[k].Text).SequenceEqual(expected[k]) || Tok.Decode(expected[k]) != texts[k].Text)
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.That(failures, Is.Zero);
    }

    [Test]
    public void Missing_file_throws_CheckpointException_naming_it()
    {
        string path = Path.Combine(_tempDir, "tokenizer.model");

        var ex = Assert.Throws<CheckpointException>(() => ModelTokenizer.Load(path));

        Assert.That(ex!.FilePath, Is.EqualTo(path));
        Assert.That(ex.Message, Does.Contain(path));
    }

    private static IEnumerable<TestCaseData> CorruptContents()
    {
        yield return new TestCaseData(Array.Empty<byte>()).SetName("Corrupt tokenizer.model: empty");
        yield return new TestCaseData(new byte[] { 1, 2, 3, 4, 5 }).SetName("Corrupt tokenizer.model: five bytes");
        yield return new TestCaseData("this is not a protobuf file at all\n"u8.ToArray()).SetName("Corrupt tokenizer.model: text");
        var random = new byte[4096];
        new Random(42).NextBytes(random);
        yield return new TestCaseData(random).SetName("Corrupt tokenizer.model: random bytes");
        yield return new TestCaseData(Enumerable.Repeat((byte)0xFF, 1000).ToArray()).SetName("Corrupt tokenizer.model: 0xFF");
    }

    [TestCaseSource(nameof(CorruptContents))]
    public void Corrupt_file_throws_CheckpointException_naming_it(byte[] content)
    {
        string path = Path.Combine(_tempDir, "tokenizer.model");
        File.WriteAllBytes(path, content);

        var ex = Assert.Throws<CheckpointException>(() => ModelTokenizer.Load(path));

        Assert.That(ex!.FilePath, Is.EqualTo(path));
        Assert.That(ex.Message, Does.Contain(path));
    }

    [TestCase(1000)]
    [TestCase(100_000)]
    public void Truncated_real_model_throws_CheckpointException(int length)
    {
        string path = Path.Combine(_tempDir, "tokenizer.model");
        File.WriteAllBytes(path, File.ReadAllBytes(TokenizerFixture.ModelPath)[..length]);

        var ex = Assert.Throws<CheckpointException>(() => ModelTokenizer.Load(path));

        Assert.That(ex!.FilePath, Is.EqualTo(path));
    }

    [Test]
    public void Directory_instead_of_file_throws_CheckpointException() =>
        Assert.That(() => ModelTokenizer.Load(_tempDir), Throws.TypeOf<CheckpointException>());

    [Test]
    public void Null_or_empty_path_is_an_argument_error()
    {
        Assert.That(() => ModelTokenizer.Load(null!), Throws.ArgumentNullException);
        Assert.That(() => ModelTokenizer.Load(""), Throws.ArgumentException);
    }
}
