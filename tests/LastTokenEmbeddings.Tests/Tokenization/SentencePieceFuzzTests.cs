using CsCheck;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

/// <summary>
/// Mutation fuzzing of <see cref="SentencePieceTokenizer.Load"/>: the Mistral fixture's <c>tokenizer.model</c>
/// (a SentencePiece protobuf) gets random byte edits, truncation or appended bytes. Loading must either give a
/// tokenizer whose ids for a mixed text all lie in its vocabulary, or throw <see cref="CheckpointException"/>
/// naming the file. LTE_FUZZ_ITERATIONS sets the budget (divided by 10: each load parses 32,000 pieces).
/// </summary>
[Category("Fuzz")]
public class SentencePieceFuzzTests
{
    private const string Sample = "Hello world <s> [INST] 12345 Größe 😀 \t\n  end</s>";

    [Test]
    public void Mutated_tokenizer_models_load_consistently_or_fail_with_CheckpointException()
    {
        var budget = Fuzzing.Iterations(3000);
        var original = File.ReadAllBytes(Path.Combine(TestPaths.Fixture("tiny-mistral"), "tokenizer.model"));
        var directory = Path.Combine(Path.GetTempPath(), "lte-spm-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var accepted = 0;
        var rejected = 0;
        // Edits cluster at the start (the first pieces) or fall anywhere; kind 0 truncates, 1 appends, the rest set a byte.
        var edit = Gen.Select(Gen.Double[0, 1], Gen.Bool, Gen.Byte, Gen.Int[0, 9]);
        try
        {
            edit.Array[1, 6].Sample(edits =>
            {
                var bytes = original.ToList();
                foreach (var (position, nearStart, value, kind) in edits)
                {
                    var at = (int)(position * (nearStart ? Math.Min(bytes.Count, 256) : bytes.Count));
                    if (kind == 0 && bytes.Count > 0)
                        bytes.RemoveRange(at, Math.Max(0, bytes.Count - at));
                    else if (kind == 1)
                        bytes.AddRange(Enumerable.Repeat(value, 1 + (at % 17)));
                    else if (at < bytes.Count)
                        bytes[at] = value;
                }
                var path = Path.Combine(directory, Guid.NewGuid().ToString("N") + ".model");
                File.WriteAllBytes(path, [.. bytes]);
                try
                {
                    var tokenizer = SentencePieceTokenizer.Load(path);
                    var ids = tokenizer.Encode(Sample, parseSpecialTokens: true);
                    Assert.That(ids, Is.Not.Empty);
                    Assert.That(ids, Is.All.InRange(0, tokenizer.VocabularySize - 1));
                    Interlocked.Increment(ref accepted);
                }
                catch (CheckpointException e)
                {
                    Assert.That(e.FilePath, Is.EqualTo(path));
                    Interlocked.Increment(ref rejected);
                }
                finally
                {
                    File.Delete(path);
                }
            }, iter: Math.Max(budget / 10, 20), threads: 1);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        TestContext.Out.WriteLine($"tokenizer.model fuzz: {accepted} accepted, {rejected} rejected");
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
