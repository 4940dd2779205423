using LastTokenEmbeddings.Embeddings;

namespace LastTokenEmbeddings.Tests.Embeddings;

public class TokenBudgetBatcherTests
{
    private static void AssertPartition(IReadOnlyList<int> lengths, List<int[]> batches, int budget, int maxSize)
    {
        Assert.That(batches.SelectMany(b => b).Order(), Is.EqualTo(Enumerable.Range(0, lengths.Count)), "every text exactly once");
        foreach (var batch in batches)
        {
            Assert.That(batch.Length, Is.InRange(1, maxSize));
            if (batch.Length > 1)
                Assert.That(batch.Length * batch.Max(i => lengths[i]), Is.LessThanOrEqualTo(budget));
        }
    }

    [Test]
    public void Equal_lengths_fill_batches_up_to_the_caps()
    {
        var lengths = Enumerable.Repeat(100, 50).ToArray();
        var batches = TokenBudgetBatcher.Plan(lengths, maxBatchTokens: 2000, maxBatchSize: 64).ToList();
        AssertPartition(lengths, batches, 2000, 64);
        Assert.That(batches.Select(b => b.Length), Is.EqualTo(new[] { 20, 20, 10 }));
    }

    [Test]
    public void Very_different_lengths_are_not_padded_together()
    {
        int[] lengths = [500, 10, 490, 12, 11, 505];
        var batches = TokenBudgetBatcher.Plan(lengths, 8192, 64).ToList();
        AssertPartition(lengths, batches, 8192, 64);
        Assert.That(batches, Has.Count.EqualTo(2));
        Assert.That(batches[0].Order(), Is.EqualTo(new[] { 0, 2, 5 }));
        Assert.That(batches[1].Order(), Is.EqualTo(new[] { 1, 3, 4 }));
    }

    [Test]
    public void Short_texts_share_one_batch_despite_some_padding()
    {
        var lengths = Enumerable.Range(0, 64).Select(i => 4 + i % 13).ToArray(); // 4..16 tokens
        var batches = TokenBudgetBatcher.Plan(lengths, 8192, 64).ToList();
        AssertPartition(lengths, batches, 8192, 64);
        Assert.That(batches.Count, Is.LessThanOrEqualTo(3), "a forward pass costs more than a little padding");
    }

    [Test]
    public void Over_budget_text_runs_alone_and_plans_are_deterministic()
    {
        int[] lengths = [9000, 5, 5];
        var first = TokenBudgetBatcher.Plan(lengths, 8192, 64).ToList();
        AssertPartition(lengths, first, 8192, 64);
        Assert.That(first[0], Is.EqualTo(new[] { 0 }));
        Assert.That(TokenBudgetBatcher.Plan(lengths, 8192, 64), Is.EqualTo(first));
        Assert.That(TokenBudgetBatcher.Plan([], 8192, 64), Is.Empty);
    }

    [Test]
    public void Plan_cost_is_never_worse_than_one_at_a_time_or_greedy_batches()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var lengths = Enumerable.Range(0, random.Next(1, 120)).Select(_ => random.Next(1, 400)).ToArray();
            var plan = TokenBudgetBatcher.Plan(lengths, 4096, 32).ToList();
            AssertPartition(lengths, plan, 4096, 32);
            long Cost(IEnumerable<int[]> batches) => batches.Sum(b => TokenBudgetBatcher.ForwardOverheadTokens + (long)b.Length * b.Max(i => lengths[i]));
            var alone = lengths.Select((_, i) => new[] { i });
            Assert.That(Cost(plan), Is.LessThanOrEqualTo(Cost(alone)));
            var sorted = Enumerable.Range(0, lengths.Length).OrderByDescending(i => lengths[i]).ToArray();
            var greedy = new List<int[]>();
            for (var s = 0; s < sorted.Length;)
            {
                var count = 1;
                while (s + count < sorted.Length && count < 32 && (count + 1) * lengths[sorted[s]] <= 4096) count++;
                greedy.Add(sorted[s..(s + count)]);
                s += count;
            }
            Assert.That(Cost(plan), Is.LessThanOrEqualTo(Cost(greedy)));
        }
    }
}
