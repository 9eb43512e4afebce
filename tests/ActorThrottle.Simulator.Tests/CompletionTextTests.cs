namespace ActorThrottle.Simulator.Tests;

public sealed class CompletionTextTests
{
    [Fact]
    public void Chunks_concatenate_to_the_plain_text_for_every_length_and_chunk_size()
    {
        for (var tokens = 0; tokens <= 40; tokens++)
        {
            for (var configured = 1; configured <= 45; configured++)
            {
                var chunks = CompletionText.Chunks(tokens, configured).ToList();
                Assert.Equal(CompletionText.For(tokens), string.Concat(chunks));
                Assert.Equal(CompletionText.ChunkCount(tokens, configured), chunks.Count);
                Assert.All(chunks, c => Assert.NotEqual(string.Empty, c));
                if (tokens >= 2)
                {
                    Assert.True(chunks.Count >= 2, $"{tokens} tokens by {configured}: {chunks.Count} chunks");
                }
            }
        }
    }

    [Theory]
    [InlineData(12, 1, 12)]
    [InlineData(10, 4, 3)]
    [InlineData(10, 100, 2)]
    [InlineData(3, 5, 2)]
    [InlineData(1, 5, 1)]
    [InlineData(0, 1, 0)]
    public void Chunk_count_is_tokens_over_chunk_size_with_at_least_two_when_possible(int tokens, int configured, int expected)
    {
        Assert.Equal(expected, CompletionText.ChunkCount(tokens, configured));
    }

    [Fact]
    public void One_token_chunks_are_one_word_each()
    {
        Assert.Equal(["Simulated", " reply", " from"], CompletionText.Chunks(3, 1));
    }
}
