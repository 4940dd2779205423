using LastTokenEmbeddings.Embeddings;

namespace LastTokenEmbeddings.Tests.Embeddings;

public class TokenBudgetBatcherTests
{
    private static List<int[][]> Plan(int[] lengths, int budget, int maxSize)
    {
        var plan = TokenBudgetBatcher.Plan(lengths, budget, maxSize).ToList();
        Assert.That(plan.SelectMany(b => b.SelectMany(r => r)).Order(), Is.EqualTo(Enumerable.Range(0, lengths.Length)), "every text exactly once");
        foreach (var batch in plan)
        {
            Assert.That(batch.Sum(r => r.Length), Is.InRange(1, maxSize), "batch-size cap");
            var rowLength = batch.Max(row => row.Sum(i => lengths[i]));
            if (batch.Sum(r => r.Length) > 1)
                Assert.That(batch.Length * rowLength, Is.LessThanOrEqualTo(budget), "token budget");
            foreach (var row in batch.Where(r => r.Length > 1))
            {
                Assert.That(row.All(i => lengths[i] <= TokenBudgetBatcher.PackedTextLimit), "only short texts share a row");
                Assert.That(row.Sum(i => lengths[i]), Is.LessThanOrEqualTo(TokenBudgetBatcher.PackedRowTokens));
            }
        }
        return plan;
    }

    [Test]
    public void Equal_long_lengths_fill_batches_up_to_the_caps()
    {
        var plan = Plan(Enumerable.Repeat(100, 50).ToArray(), budget: 2000, maxSize: 64);
        Assert.That(plan.Select(b => b.Length), Is.EqualTo(new[] { 20, 20, 10 }));
    }

    [Test]
    public void Long_texts_of_very_different_lengths_are_not_padded_together()
    {
        var plan = Plan([500, 80, 490, 90, 85, 505], 8192, 64);
        Assert.That(plan.Select(b => b.SelectMany(r => r).Order().ToArray()), Is.EqualTo(new[] { new[] { 0, 2, 5 }, new[] { 1, 3, 4 } }));
    }

    [Test]
    public void Short_texts_are_packed_into_shared_rows()
    {
        var lengths = Enumerable.Range(0, 64).Select(i => 4 + i % 13).ToArray(); // 4..16 tokens, 640 in all
        var plan = Plan(lengths, 8192, 64);
        Assert.That(plan, Has.Count.EqualTo(1));
        Assert.That(plan[0], Has.Length.EqualTo(3), "640 tokens in rows of 256");
        var fills = plan[0].Select(row => row.Sum(i => lengths[i])).ToArray();
        Assert.That(fills.Max(), Is.LessThanOrEqualTo(640 / 3 + 16), "spread evenly: each row padded to about a third, not to 256");
    }

    [Test]
    public void Rows_are_balanced_without_changing_which_texts_share_a_batch()
    {
        int[] lengths = [60, 60, 60, 60, 60, 50, 10]; // first fit: 240 + 60 | 50 + 10 → rows 240, 120
        var plan = Plan(lengths, 8192, 64);
        Assert.That(plan, Has.Count.EqualTo(1));
        Assert.That(plan[0].Select(row => row.Sum(i => lengths[i])).Order(), Is.EqualTo(new[] { 180, 180 }));
    }

    [Test]
    public void Batch_size_cap_applies_to_packed_texts()
    {
        var plan = Plan(Enumerable.Repeat(5, 10).ToArray(), 8192, maxSize: 3);
        Assert.That(plan.Select(b => b.Sum(r => r.Length)), Is.EqualTo(new[] { 3, 3, 3, 1 }));
    }

    [Test]
    public void Over_budget_text_runs_alone_and_plans_are_deterministic()
    {
        int[] lengths = [9000, 5, 5];
        var first = Plan(lengths, 8192, 64);
        Assert.That(first[0], Is.EqualTo(new[] { new[] { 0 } }));
        Assert.That(first[1], Is.EqualTo(new[] { new[] { 1, 2 } }));
        Assert.That(TokenBudgetBatcher.Plan(lengths, 8192, 64), Is.EqualTo(first));
        Assert.That(TokenBudgetBatcher.Plan([], 8192, 64), Is.Empty);
    }

    [Test]
    public void Padded_plan_cost_is_never_worse_than_one_at_a_time_or_greedy_batches()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var lengths = Enumerable.Range(0, random.Next(1, 120)).Select(_ => random.Next(TokenBudgetBatcher.PackedTextLimit + 1, 400)).ToArray();
            var plan = Plan(lengths, 4096, 32).Select(b => b.Select(r => r.Single()).ToArray()).ToList();
            long Cost(IEnumerable<int[]> batches) => batches.Sum(b => TokenBudgetBatcher.ForwardOverheadTokens + (long)b.Length * b.Max(i => lengths[i]));
            Assert.That(Cost(plan), Is.LessThanOrEqualTo(Cost(lengths.Select((_, i) => new[] { i }))));
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
